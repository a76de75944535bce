/**
 * The catalog: every image the account may use (own, shared with it, public), with the API's list
 * filters, paging by the API's markers (x-next-marker), and the page ordered by date either way (the
 * API pages in creation order, oldest first). Shares offered to the account and not yet answered are
 * listed apart, to accept or reject (a pending share is neither listed nor usable by name until then).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { call, formatDate, path, type Image, type Session } from '../api';
import { ErrorMessage, Notice, PageTitle, stateClass, useAction } from '../ui';

interface Filters {
  name: string;
  os: string;
  version: string;
  state: string;
  type: string;
  tag: string;
  scope: 'all' | 'own' | 'public';
}

const EMPTY: Filters = { name: '', os: '', version: '', state: 'all', type: '', tag: '', scope: 'all' };

function queryOf(f: Filters, accountId: string, limit: number, marker?: string): string {
  const q = new URLSearchParams();
  if (f.name.trim()) q.set('name', `~${f.name.trim()}`);
  if (f.os.trim()) q.set('os', f.os.trim());
  if (f.version.trim()) q.set('version', f.version.trim());
  if (f.type.trim()) q.set('type', f.type.trim());
  q.set('state', f.state);
  const tag = /^([^=]+)=(.*)$/.exec(f.tag.trim());
  if (tag) q.set(`tag.${tag[1].trim()}`, tag[2].trim());
  if (f.scope === 'own') q.set('owner', accountId);
  if (f.scope === 'public') q.set('public', 'true');
  q.set('limit', String(limit));
  if (marker) q.set('marker', marker);
  return q.toString();
}

export const accessOf = (image: Image, accountId: string): string =>
  image.owner === accountId ? 'own' : image.public ? 'public' : 'shared';

/** Shares offered to this account that it has not answered yet (`member_status=pending`). */
function PendingShares({ onAnswered }: { onAnswered: () => void }) {
  const [pending, setPending] = useState<Image[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const load = () =>
    call<Image[]>('GET', `${path('images')}?member_status=pending&state=all&limit=50`)
      .then((res) => setPending(res.body))
      .catch(() => setPending([]));
  useEffect(() => {
    void load();
  }, []);
  const answer = (image: Image, verb: 'accept' | 'reject') =>
    action.run(async () => {
      await call('POST', `${path('images', image.id)}?action=${verb}-share`, {});
      setNotice(`${verb === 'accept' ? 'Accepted' : 'Rejected'} ${image.name} ${image.version}.`);
      await load();
      onAnswered();
    });
  if (pending.length === 0 && !notice && !action.error) return null;
  return (
    <section class="pending" aria-labelledby="pending-title">
      <h2 id="pending-title">Shared with you, waiting for your answer</h2>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={action.error} />
      <ul>
        {pending.map((image) => (
          <li key={image.id}>
            <a href={`#/images/${image.id}`}>
              {image.name} {image.version}
            </a>{' '}
            <span class="muted">from account {image.owner}</span>
            <span class="actions">
              <button
                type="button"
                class="primary"
                disabled={action.busy}
                onClick={() => void answer(image, 'accept')}
                aria-label={`Accept ${image.name} ${image.version}`}
              >
                Accept
              </button>
              <button
                type="button"
                disabled={action.busy}
                onClick={() => void answer(image, 'reject')}
                aria-label={`Reject ${image.name} ${image.version}`}
              >
                Reject
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Catalog({ session }: { session: Session }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [limit, setLimit] = useState(25);
  /** Markers of the pages before this one (for Previous), and this page's marker. */
  const [trail, setTrail] = useState<Array<string | undefined>>([]);
  const [marker, setMarker] = useState<string | undefined>();
  const [page, setPage] = useState<{ items: Image[]; next?: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [newestFirst, setNewestFirst] = useState(true);
  const [loading, setLoading] = useState(false);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    call<Image[]>('GET', `${path('images')}?${queryOf(filters, session.accountId, limit, marker)}`)
      .then((res) => live && setPage({ items: res.body, next: res.headers.get('x-next-marker') ?? undefined }))
      .catch((err) => live && setError(err))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [filters, limit, marker, session.accountId, reload]);

  const rows = useMemo(() => {
    const items = [...(page?.items ?? [])];
    const at = (i: Image) => i.published_at ?? '9999'; // not yet published (creating) sorts as newest
    items.sort((a, b) => (newestFirst ? at(b).localeCompare(at(a)) : at(a).localeCompare(at(b))));
    return items;
  }, [page, newestFirst]);

  const apply = (e: Event) => {
    e.preventDefault();
    setTrail([]);
    setMarker(undefined);
    setFilters(draft);
  };
  const field = (key: keyof Filters, label: string, placeholder = '') => (
    <label>
      {label}
      <input
        name={key}
        value={draft[key]}
        placeholder={placeholder}
        onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })}
      />
    </label>
  );

  return (
    <section>
      <div class="title-row">
        <PageTitle>Images</PageTitle>
        <a class="button primary" href="#/create">
          Create image
        </a>
      </div>
      <PendingShares onAnswered={() => setReload((n) => n + 1)} />
      <form class="filters" onSubmit={apply} aria-label="Filter images">
        {field('name', 'Name contains')}
        {field('os', 'OS', 'linux')}
        {field('version', 'Version')}
        {field('type', 'Type', 'lx-dataset')}
        {field('tag', 'Tag', 'key=value')}
        <label>
          State
          <select name="state" value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value })}>
            {['all', 'active', 'creating', 'failed', 'disabled', 'unactivated'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Whose
          <select
            name="scope"
            value={draft.scope}
            onChange={(e) => setDraft({ ...draft, scope: e.currentTarget.value as Filters['scope'] })}
          >
            <option value="all">own, shared and public</option>
            <option value="own">own</option>
            <option value="public">public</option>
          </select>
        </label>
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setTrail([]);
              setMarker(undefined);
              setFilters(EMPTY);
            }}
          >
            Reset
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      <div class="table-tools">
        <button type="button" onClick={() => setNewestFirst(!newestFirst)}>
          Sort by date: {newestFirst ? 'newest first' : 'oldest first'}
        </button>
        <label class="inline">
          Per page
          <select
            value={String(limit)}
            onChange={(e) => {
              setTrail([]);
              setMarker(undefined);
              setLimit(Number(e.currentTarget.value));
            }}
          >
            {[10, 25, 50, 100].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span class="muted" aria-live="polite">
          {loading ? 'Loading…' : page ? `${page.items.length} on this page` : ''}
        </span>
      </div>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Images visible to {session.login}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">OS / type</th>
              <th scope="col">State</th>
              <th scope="col">Access</th>
              <th scope="col" aria-sort={newestFirst ? 'descending' : 'ascending'}>
                Published
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((image) => (
              <tr key={image.id}>
                <td data-label="Name">
                  <a href={`#/images/${image.id}`}>{image.name}</a>
                </td>
                <td data-label="Version">{image.version}</td>
                <td data-label="OS / type">
                  {image.os} / {image.type}
                </td>
                <td data-label="State">
                  <span class={stateClass(image.state)}>{image.state}</span>
                </td>
                <td data-label="Access">{accessOf(image, session.accountId)}</td>
                <td data-label="Published">{formatDate(image.published_at)}</td>
              </tr>
            ))}
            {page && rows.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No image matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={trail.length === 0}
          onClick={() => {
            const prev = [...trail];
            const m = prev.pop();
            setTrail(prev);
            setMarker(m);
          }}
        >
          ← Previous
        </button>
        <span class="muted">Page {trail.length + 1}</span>
        <button
          type="button"
          disabled={!page?.next}
          onClick={() => {
            setTrail([...trail, marker]);
            setMarker(page?.next);
          }}
        >
          Next →
        </button>
      </nav>
    </section>
  );
}
