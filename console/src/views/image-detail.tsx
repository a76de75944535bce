/**
 * One image: every field, its files, the ACL and tags (editable by the owner), and the actions —
 * download (a presigned URL), clone, export, share/unshare, delete — each confirmed first, each
 * showing the API's own error text when refused.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, formatBytes, formatDate, path, type Image, type Session } from '../api';
import { Confirm, ErrorMessage, Notice, PageTitle, go, stateClass, useAction } from '../ui';
import { accessOf } from './catalog';

type Pending =
  | { kind: 'delete' }
  | { kind: 'clone' }
  | { kind: 'export'; mantaPath: string }
  | { kind: 'share'; account: string }
  | { kind: 'unshare'; account: string }
  | { kind: 'save'; changes: Record<string, unknown> };

const SHOWN = [
  'id',
  'name',
  'version',
  'os',
  'type',
  'state',
  'owner',
  'public',
  'published_at',
  'origin',
  'description',
  'homepage',
  'eula',
];

const tagsToText = (tags: Image['tags']): string =>
  Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

function textToTags(text: string, before: Image['tags']): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^=]+?)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const old = before?.[m[1]];
    // Keep a number or boolean tag's type when its text is unchanged.
    out[m[1]] = old !== undefined && String(old) === m[2] ? old : m[2];
  }
  return out;
}

function describe(p: Pending, image: Image): { title: string; body: string; label: string; danger?: boolean } {
  switch (p.kind) {
    case 'delete':
      return {
        title: 'Delete image',
        body: `Delete ${image.name} ${image.version} (${image.id}) and its file? This cannot be undone.`,
        label: 'Delete',
        danger: true,
      };
    case 'clone':
      return {
        title: 'Clone image',
        body: `Make a copy of ${image.name} ${image.version} owned by you, with its own copy of the file.`,
        label: 'Clone',
      };
    case 'export':
      return {
        title: 'Export image',
        body: `Write the image file and its manifest under ${p.mantaPath} in your export area.`,
        label: 'Export',
      };
    case 'share':
      return { title: 'Share image', body: `Let account ${p.account} see and use ${image.name} ${image.version}.`, label: 'Share' };
    case 'unshare':
      return {
        title: 'Stop sharing',
        body: `Account ${p.account} will no longer see ${image.name} ${image.version}.`,
        label: 'Unshare',
        danger: true,
      };
    case 'save':
      return { title: 'Save changes', body: `Update ${Object.keys(p.changes).join(', ')} of ${image.name}.`, label: 'Save' };
  }
}

export function ImageDetail({ id, session }: { id: string; session: Session }) {
  const [image, setImage] = useState<Image | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<preact.ComponentChildren>(null);
  const [shareWith, setShareWith] = useState('');
  const [mantaPath, setMantaPath] = useState('');
  const [edit, setEdit] = useState({ name: '', version: '', description: '', tags: '' });
  const action = useAction();

  const load = () =>
    call<Image>('GET', path('images', id))
      .then((res) => {
        setImage(res.body);
        setEdit({
          name: res.body.name,
          version: res.body.version,
          description: res.body.description ?? '',
          tags: tagsToText(res.body.tags),
        });
        setMantaPath(`exports/${res.body.name}-${res.body.version}`);
      })
      .catch(setLoadError);
  useEffect(() => {
    void load();
  }, [id]);

  useEffect(() => {
    if (image?.state !== 'creating') return;
    const t = setTimeout(() => void load(), 1500);
    return () => clearTimeout(t);
  }, [image]);

  if (loadError) return <ErrorMessage error={loadError} />;
  if (!image) return <p aria-live="polite">Loading…</p>;
  const own = image.owner === session.accountId;

  const confirm = async () => {
    const p = pending;
    setPending(null);
    if (!p) return;
    setNotice(null);
    await action.run(async () => {
      if (p.kind === 'delete') {
        await call('DELETE', path('images', id));
        go('#/images');
      } else if (p.kind === 'clone') {
        const res = await call<Image>('POST', `${path('images', id)}?action=clone`, {});
        go(`#/images/${res.body.id}`);
      } else if (p.kind === 'export') {
        const res = await call<{ manta_url: string; image_path: string; download_url?: string }>(
          'POST',
          `${path('images', id)}?action=export`,
          { manta_path: p.mantaPath },
        );
        setNotice(
          <>
            Exported to <code>{res.body.image_path}</code>.{' '}
            {res.body.download_url && (
              <a href={res.body.download_url} rel="noopener">
                Download the export
              </a>
            )}
          </>,
        );
      } else {
        const acl = image.acl ?? [];
        const changes =
          p.kind === 'share'
            ? { acl: [...acl.filter((a) => a !== p.account), p.account] }
            : p.kind === 'unshare'
              ? { acl: acl.filter((a) => a !== p.account) }
              : p.changes;
        const res = await call<Image>('POST', `${path('images', id)}?action=update`, changes);
        setImage(res.body);
        if (p.kind === 'share') setShareWith('');
        setNotice(
          p.kind === 'share' ? `Shared with ${p.account}.` : p.kind === 'unshare' ? `No longer shared with ${p.account}.` : 'Saved.',
        );
      }
    });
  };

  const answerShare = (verb: 'accept' | 'reject') =>
    action.run(async () => {
      await call('POST', `${path('images', id)}?action=${verb}-share`, {});
      setNotice(
        verb === 'accept' ? 'Share accepted: the image is in your catalog.' : 'Share rejected: the image is no longer in your catalog.',
      );
    });

  const download = () =>
    action.run(async () => {
      const res = await call<{ url: string }>('GET', `${path('images', id, 'file')}?redirect=false`);
      location.assign(res.body.url);
    });

  const save = (e: Event) => {
    e.preventDefault();
    const changes: Record<string, unknown> = {};
    if (edit.name !== image.name) changes.name = edit.name;
    if (edit.version !== image.version) changes.version = edit.version;
    if (edit.description !== (image.description ?? '')) changes.description = edit.description;
    const tags = textToTags(edit.tags, image.tags);
    if (JSON.stringify(tags) !== JSON.stringify(image.tags ?? {})) changes.tags = tags;
    if (Object.keys(changes).length === 0) return setNotice('Nothing changed.');
    setPending({ kind: 'save', changes });
  };

  const d = pending && describe(pending, image);
  return (
    <section>
      <p>
        <a href="#/images">← Images</a>
      </p>
      <div class="title-row">
        <PageTitle>
          {image.name} <span class="muted">{image.version}</span>
        </PageTitle>
        <span class={stateClass(image.state)} data-testid="image-state">
          {image.state}
        </span>
      </div>
      {image.state === 'failed' && image.error && (
        <div class="message error" role="alert">
          <strong>{image.error.code}</strong>: {image.error.message}
        </div>
      )}
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={action.error} />
      {/* biome-ignore lint/a11y/useSemanticElements: a row of action buttons, not a form section: a fieldset would carry form semantics and styling */}
      <div class="actions wrap" role="group" aria-label="Image actions">
        <button type="button" onClick={() => void download()} disabled={action.busy || image.state !== 'active'}>
          Download
        </button>
        <button type="button" onClick={() => setPending({ kind: 'clone' })} disabled={action.busy}>
          Clone
        </button>
        {own && (
          <button type="button" class="danger" onClick={() => setPending({ kind: 'delete' })} disabled={action.busy}>
            Delete
          </button>
        )}
      </div>

      <h2>Fields</h2>
      <dl class="fields">
        {SHOWN.filter((k) => image[k] !== undefined).map((k) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{k === 'published_at' ? formatDate(String(image[k])) : String(image[k])}</dd>
          </div>
        ))}
        <div>
          <dt>access</dt>
          <dd>{accessOf(image, session.accountId)}</dd>
        </div>
        {Object.entries(image)
          .filter(([k, v]) => !SHOWN.includes(k) && !['files', 'acl', 'tags', 'error'].includes(k) && v !== undefined)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>
                <code>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</code>
              </dd>
            </div>
          ))}
      </dl>

      <h2>Files</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Size</th>
              <th scope="col">Format</th>
              <th scope="col">Compression</th>
              <th scope="col">SHA-1</th>
              <th scope="col">SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {image.files.map((f) => (
              <tr key={f.sha256}>
                <td data-label="Size">{formatBytes(f.size)}</td>
                <td data-label="Format">{f.format ?? 'raw'}</td>
                <td data-label="Compression">{f.compression}</td>
                <td data-label="SHA-1">
                  <code class="hash">{f.sha1}</code>
                </td>
                <td data-label="SHA-256">
                  <code class="hash">{f.sha256}</code>
                </td>
              </tr>
            ))}
            {image.files.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  No file yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      {own && (
        <>
          <h2>Sharing</h2>
          <ul class="acl" aria-label="Accounts the image is shared with">
            {(image.acl ?? []).map((a) => (
              <li key={a}>
                <code>{a}</code>{' '}
                <button type="button" onClick={() => setPending({ kind: 'unshare', account: a })} aria-label={`Unshare with ${a}`}>
                  Unshare
                </button>
              </li>
            ))}
            {(image.acl ?? []).length === 0 && <li class="muted">Not shared with any account.</li>}
          </ul>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (shareWith.trim()) setPending({ kind: 'share', account: shareWith.trim() });
            }}
          >
            <label>
              Share with account id
              <input
                name="share"
                value={shareWith}
                required
                placeholder="00000000-0000-0000-0000-000000000000"
                onInput={(e) => setShareWith(e.currentTarget.value)}
              />
            </label>
            <button type="submit">Share</button>
          </form>

          <h2>Edit</h2>
          <form class="edit" onSubmit={save}>
            <label>
              Name
              <input name="name" value={edit.name} onInput={(e) => setEdit({ ...edit, name: e.currentTarget.value })} />
            </label>
            <label>
              Version
              <input name="version" value={edit.version} onInput={(e) => setEdit({ ...edit, version: e.currentTarget.value })} />
            </label>
            <label>
              Description
              <input
                name="description"
                value={edit.description}
                onInput={(e) => setEdit({ ...edit, description: e.currentTarget.value })}
              />
            </label>
            <label>
              Tags (one key=value a line)
              <textarea name="tags" rows={4} value={edit.tags} onInput={(e) => setEdit({ ...edit, tags: e.currentTarget.value })} />
            </label>
            <button type="submit" class="primary">
              Save
            </button>
          </form>

          <h2>Export</h2>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              setPending({ kind: 'export', mantaPath: mantaPath.trim() });
            }}
          >
            <label>
              Path in your export area
              <input name="manta_path" value={mantaPath} required onInput={(e) => setMantaPath(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={image.state !== 'active'}>
              Export
            </button>
          </form>
        </>
      )}
      {!own && !image.public && (
        <div class="share-answer">
          <p class="muted">Shared with you by account {image.owner}. Until you accept, it is not listed in your catalog.</p>
          <div class="actions wrap">
            <button type="button" class="primary" disabled={action.busy} onClick={() => void answerShare('accept')}>
              Accept share
            </button>
            <button type="button" disabled={action.busy} onClick={() => void answerShare('reject')}>
              Reject share
            </button>
          </div>
        </div>
      )}

      <Confirm
        open={!!pending}
        title={d?.title ?? ''}
        confirmLabel={d?.label ?? 'OK'}
        danger={d?.danger}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      >
        <p>{d?.body}</p>
      </Confirm>
    </section>
  );
}
