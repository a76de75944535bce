/** Machines: list with state; provision one from an image; stop, start, delete; create an image from a stopped one. */
import { useEffect, useState } from 'preact/hooks';
import { call, formatDate, path, type Image, type Machine, type Package, type Session } from '../api';
import { Confirm, ErrorMessage, Notice, PageTitle, ProgressBar, stateClass, useAction } from '../ui';

type Pending = { kind: 'stop' | 'start' | 'delete'; machine: Machine };

export function Machines(_: { session: Session }) {
  const [machines, setMachines] = useState<Machine[] | null>(null);
  const [images, setImages] = useState<Image[]>([]);
  const [packages, setPackages] = useState<Package[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [form, setForm] = useState({ image: '', package: '', name: '' });
  const action = useAction();
  const provision = useAction();

  const load = () =>
    call<Machine[]>('GET', path('machines'))
      .then((res) => setMachines(res.body))
      .catch(setLoadError);
  useEffect(() => {
    void load();
    call<Image[]>('GET', `${path('images')}?state=active&limit=200`)
      .then((res) => {
        setImages(res.body);
        setForm((f) => ({ ...f, image: f.image || res.body[0]?.id || '' }));
      })
      .catch(setLoadError);
    call<Package[]>('GET', path('packages'))
      .then((res) => {
        setPackages(res.body);
        setForm((f) => ({ ...f, package: f.package || (res.body.find((p) => p.default) ?? res.body[0])?.name || '' }));
      })
      .catch(setLoadError);
  }, []);

  const confirm = () => {
    const p = pending;
    setPending(null);
    if (!p) return;
    setNotice(null);
    void action.run(async () => {
      if (p.kind === 'delete') await call('DELETE', path('machines', p.machine.id));
      else await call('POST', `${path('machines', p.machine.id)}?action=${p.kind}`, {});
      setNotice(`${p.machine.name}: ${p.kind === 'delete' ? 'deleted' : p.kind === 'stop' ? 'stopping' : 'starting'}.`);
      await load();
    });
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setNotice(null);
    void provision.run(async () => {
      const res = await call<Machine>('POST', path('machines'), {
        image: form.image,
        package: form.package,
        ...(form.name.trim() ? { name: form.name.trim() } : {}),
      });
      setNotice(`Provisioned ${res.body.name} (${res.body.state}).`);
      setForm({ ...form, name: '' });
      await load();
    });
  };

  return (
    <section>
      <PageTitle>Machines</PageTitle>
      <ErrorMessage error={loadError} />
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={action.error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Your machines</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">OS / brand</th>
              <th scope="col">Disk</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {machines?.map((m) => (
              <tr key={m.id}>
                <td data-label="Name">
                  {m.name}
                  <br />
                  <code class="hash">{m.id}</code>
                </td>
                <td data-label="State">
                  <span class={stateClass(m.state)}>{m.state}</span>
                </td>
                <td data-label="OS / brand">
                  {m.os} / {m.brand}
                </td>
                <td data-label="Disk">{m.disk} MiB</td>
                <td data-label="Updated">{formatDate(m.updated)}</td>
                <td data-label="Actions">
                  <div class="actions wrap">
                    {m.state === 'running' && (
                      <button type="button" onClick={() => setPending({ kind: 'stop', machine: m })} aria-label={`Stop ${m.name}`}>
                        Stop
                      </button>
                    )}
                    {m.state === 'stopped' && (
                      <>
                        <button type="button" onClick={() => setPending({ kind: 'start', machine: m })} aria-label={`Start ${m.name}`}>
                          Start
                        </button>
                        <a class="button" href={`#/create?machine=${m.id}`} aria-label={`Create image from ${m.name}`}>
                          Create image
                        </a>
                      </>
                    )}
                    <button
                      type="button"
                      class="danger"
                      onClick={() => setPending({ kind: 'delete', machine: m })}
                      aria-label={`Delete ${m.name}`}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
            {machines?.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No machine yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <h2>Provision a machine</h2>
      <form class="edit" onSubmit={submit}>
        <label>
          Image
          <select name="image" required value={form.image} onChange={(e) => setForm({ ...form, image: e.currentTarget.value })}>
            {images.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name} {i.version} ({i.os})
              </option>
            ))}
          </select>
        </label>
        <label>
          Package
          <select name="package" required value={form.package} onChange={(e) => setForm({ ...form, package: e.currentTarget.value })}>
            {packages.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name} — {p.memory} MiB, {p.vcpus} vCPU
              </option>
            ))}
          </select>
        </label>
        <label>
          Name (optional)
          <input
            name="machine-name"
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]*"
            value={form.name}
            onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
          />
        </label>
        {provision.busy && (
          <div>
            <p aria-live="polite">Provisioning: writing the image onto a new disk…</p>
            <ProgressBar label="Provisioning" />
          </div>
        )}
        <ErrorMessage error={provision.error} />
        <button type="submit" class="primary" disabled={provision.busy || !form.image || !form.package}>
          Provision
        </button>
      </form>

      <Confirm
        open={!!pending}
        title={pending ? `${pending.kind[0].toUpperCase()}${pending.kind.slice(1)} machine` : ''}
        confirmLabel={pending ? `${pending.kind[0].toUpperCase()}${pending.kind.slice(1)}` : 'OK'}
        danger={pending?.kind !== 'start'}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        <p>
          {pending?.kind === 'delete'
            ? `Delete ${pending.machine.name} and its disks? This cannot be undone.`
            : `${pending?.kind === 'stop' ? 'Stop' : 'Start'} ${pending?.machine.name}?`}
        </p>
      </Confirm>
    </section>
  );
}
