/** Create an image from a stopped machine; on success, the job's live progress (views/job.tsx). */
import { useEffect, useState } from 'preact/hooks';
import { call, formatDate, path, type Image, type Machine, type Session } from '../api';
import { ErrorMessage, PageTitle, go, useAction } from '../ui';

export function CreateImage({ machine: preselected }: { session: Session; machine?: string }) {
  const [machines, setMachines] = useState<Machine[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [form, setForm] = useState({ machine: preselected ?? '', name: '', version: '1.0.0', description: '', compression: 'gzip' });
  const action = useAction();

  useEffect(() => {
    call<Machine[]>('GET', `${path('machines')}?state=stopped`)
      .then((res) => {
        setMachines(res.body);
        if (!form.machine && res.body[0]) setForm((f) => ({ ...f, machine: res.body[0].id }));
      })
      .catch(setLoadError);
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body = {
        machine: form.machine,
        name: form.name.trim(),
        version: form.version.trim(),
        ...(form.description.trim() ? { description: form.description.trim() } : {}),
        compression: form.compression,
      };
      const res = await call<Image>('POST', path('images'), body);
      const job = res.headers.get('x-joyent-jobid');
      go(job ? `#/jobs/${job}` : `#/images/${res.body.id}`);
    });
  };

  return (
    <section>
      <PageTitle>Create an image from a machine</PageTitle>
      <ErrorMessage error={loadError} />
      <form class="edit" onSubmit={submit}>
        <fieldset>
          <legend>Stopped machine</legend>
          {machines === null && !loadError && <p aria-live="polite">Loading machines…</p>}
          {machines?.length === 0 && (
            <p class="muted">
              No stopped machine. Stop one on the <a href="#/machines">Machines</a> page first.
            </p>
          )}
          <div class="choices">
            {machines?.map((m) => (
              <label key={m.id} class="choice">
                <input
                  type="radio"
                  name="machine"
                  value={m.id}
                  checked={form.machine === m.id}
                  onChange={() => setForm({ ...form, machine: m.id })}
                />
                <span>
                  <strong>{m.name}</strong>{' '}
                  <span class="muted">
                    {m.os} · {m.brand} · {m.disk} MiB · updated {formatDate(m.updated)}
                  </span>
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={512}
            pattern="[A-Za-z0-9._/ \-]+"
            title="letters, digits, '.', '_', '/', ' ' and '-'"
            value={form.name}
            onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
          />
        </label>
        <label>
          Version
          <input
            name="version"
            required
            maxLength={128}
            pattern="[A-Za-z0-9._/\-]+"
            title="letters, digits, '.', '_', '/' and '-'"
            value={form.version}
            onInput={(e) => setForm({ ...form, version: e.currentTarget.value })}
          />
        </label>
        <label>
          Description
          <input
            name="description"
            maxLength={512}
            value={form.description}
            onInput={(e) => setForm({ ...form, description: e.currentTarget.value })}
          />
        </label>
        <label>
          Compression
          <select name="compression" value={form.compression} onChange={(e) => setForm({ ...form, compression: e.currentTarget.value })}>
            <option value="gzip">gzip</option>
            <option value="none">none</option>
          </select>
        </label>
        <p class="muted">Target format: raw (the machine's disk as is).</p>
        <ErrorMessage error={action.error} />
        <button type="submit" class="primary" disabled={action.busy || !form.machine}>
          {action.busy ? 'Starting…' : 'Create image'}
        </button>
      </form>
    </section>
  );
}
