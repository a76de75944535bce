/** ListImages "visible to me": the k-way merge of owned, shared and public sources, and its cursor. */
import { listVisibleImages, sourcesFor } from '../../../lambdas/core/use-cases/list-images';
import { canonicalFilter, decodeListCursor, encodeListCursor } from '../../../lambdas/core/list-cursor';
import { ValidationError } from '../../../lambdas/core/errors';
import type { Image } from '../../../lambdas/core/image';
import { FakeImages } from '../../helpers/fakes';

const me = { accountId: 'acct-me', login: 'me', roles: [] };
let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function image(overrides: Partial<Image> = {}): Image {
  return {
    id: uuid(),
    owner: 'acct-me',
    name: 'img',
    version: '1',
    acl: [],
    tags: {},
    requirements: {},
    os: 'linux',
    type: 'lx-dataset',
    state: 'active',
    public: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    files: [],
    rev: 1,
    ...overrides,
  };
}

async function seed(images: FakeImages, list: Image[]) {
  for (const i of list) {
    await images.create(i);
    if (i.acl.length) await images.addAclEntries(i.id, i.acl);
    // the seeded shares have been accepted (pending ones are tested on their own)
    for (const a of i.acl) await images.setMemberStatus(i.id, a, 'accepted');
  }
}

async function all(images: FakeImages, q: Parameters<ReturnType<typeof listVisibleImages>>[1]) {
  const list = listVisibleImages({ images });
  const out: Image[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(me, { ...q, cursor });
    out.push(...page.items);
    cursor = page.cursor;
    if (++pages > 100) throw new Error('does not terminate');
  } while (cursor);
  return { out, pages };
}

describe('ListImages merge (core)', () => {
  it('returns own, shared-with-me and public images, each once, in sort-key order — not others’ private ones', async () => {
    const images = new FakeImages();
    const own = image({ created_at: '2026-01-01T00:00:03.000Z' });
    const ownPublic = image({ public: true, created_at: '2026-01-01T00:00:01.000Z' });
    const shared = image({ owner: 'acct-x', acl: ['acct-me'], created_at: '2026-01-01T00:00:02.000Z' });
    const sharedAndPublic = image({ owner: 'acct-x', acl: ['acct-me'], public: true, created_at: '2026-01-01T00:00:04.000Z' });
    const hidden = image({ owner: 'acct-x', created_at: '2026-01-01T00:00:05.000Z' });
    await seed(images, [own, ownPublic, shared, sharedAndPublic, hidden]);

    const { out } = await all(images, {});

    expect(out.map((i) => i.id)).toEqual([ownPublic.id, shared.id, own.id, sharedAndPublic.id]);
  });

  it('pages through ties in created_at exactly once each, whatever the page size', async () => {
    const images = new FakeImages();
    const list: Image[] = [];
    for (let i = 0; i < 23; i++) {
      const owner = ['acct-me', 'acct-x', 'acct-y'][i % 3];
      list.push(
        image({ owner, created_at: '2026-01-01T00:00:00.000Z', public: i % 3 === 2 || i % 5 === 0, acl: i % 3 === 1 ? ['acct-me'] : [] }),
      );
    }
    await seed(images, list);
    for (const limit of [1, 2, 3, 7, 100]) {
      const { out, pages } = await all(images, { limit });
      expect(out.map((i) => i.id).sort()).toEqual(list.map((i) => i.id).sort());
      expect(new Set(out.map((i) => i.id)).size).toBe(out.length);
      expect(pages).toBe(Math.max(1, Math.ceil(list.length / limit)));
    }
  });

  it('confirms visibility on the image item: a stale acl entry does not show the image', async () => {
    const images = new FakeImages();
    const unshared = image({ owner: 'acct-x', acl: [] });
    await seed(images, [unshared]);
    await images.addAclEntries(unshared.id, ['acct-me']); // left behind by an interrupted unshare
    await images.setMemberStatus(unshared.id, 'acct-me', 'accepted');
    expect((await all(images, {})).out).toEqual([]);
  });

  it('filters by state (default active, all hides deleted), os, type, name (~substring), version and tags', async () => {
    const images = new FakeImages();
    const a = image({ name: 'base-64', os: 'smartos', type: 'zone-dataset', version: '2', tags: { role: 'os', n: 1 } });
    const b = image({ name: 'web', state: 'creating' });
    const c = image({ name: 'gone', state: 'deleted' });
    await seed(images, [a, b, c]);
    const ids = async (q: object) => (await all(images, q)).out.map((i) => i.id);
    expect(await ids({})).toEqual([a.id]);
    expect(await ids({ state: 'all' })).toEqual([a.id, b.id]);
    expect(await ids({ os: 'smartos' })).toEqual([a.id]);
    expect(await ids({ os: 'plan9' })).toEqual([]);
    expect(await ids({ type: 'zone-dataset' })).toEqual([a.id]);
    expect(await ids({ type: 'meep' })).toEqual([]);
    expect(await ids({ nameContains: 'se-6' })).toEqual([a.id]);
    expect(await ids({ name: 'base' })).toEqual([]);
    expect(await ids({ version: '2', tags: { role: 'os', n: '1' } })).toEqual([a.id]);
    expect(await ids({ tags: { role: 'db' } })).toEqual([]);
  });

  it('reads only the sources a filter allows', async () => {
    expect(sourcesFor(me, { public: true })).toEqual(['public']);
    expect(sourcesFor(me, { owner: 'acct-me' })).toEqual(['owned']);
    expect(sourcesFor(me, { owner: 'acct-x' })).toEqual(['shared', 'public']);
    expect(sourcesFor(me, { public: false })).toEqual(['owned', 'shared']);
    const images = new FakeImages();
    await seed(images, [image({ public: true }), image()]);
    const out = await listVisibleImages({ images })(me, { public: true });
    expect(out.items).toHaveLength(1);
    expect(new Set(images.sourceCalls.map((c) => c.source))).toEqual(new Set(['public']));
  });

  it('does not query an exhausted source again on the next page', async () => {
    const images = new FakeImages();
    const owned = [1, 2, 3].map((s) => image({ created_at: `2026-01-01T00:00:0${s}.000Z` }));
    await seed(images, [...owned, image({ owner: 'acct-x', public: true, created_at: '2026-01-01T00:00:00.500Z' })]);
    const first = await listVisibleImages({ images })(me, { limit: 2 });
    expect(first.cursor).toBeDefined();
    images.sourceCalls = [];
    const second = await listVisibleImages({ images })(me, { limit: 2, cursor: first.cursor });
    expect(second.items.map((i) => i.id)).toEqual([owned[1].id, owned[2].id]);
    expect(second.cursor).toBeUndefined();
    expect(images.sourceCalls.map((c) => c.source)).not.toContain('public');
  });
});

describe('list cursor', () => {
  const key = '2026-01-01T00:00:00.000Z#00000000-0000-4000-8000-000000000001';
  const binding = { accountId: 'acct-me', scope: 'triton', filter: { os: 'linux', tags: { a: '1', b: '2' } } };

  it('round-trips each source’s position (a key, from the start, exhausted)', () => {
    const c = encodeListCursor({ owned: key, shared: null, public: '' }, binding);
    expect(decodeListCursor(c, ['owned', 'shared', 'public'], binding)).toEqual({ owned: key, shared: null, public: '' });
  });

  it('binds to the filter, not to the order its fields or tags were written in', () => {
    const c = encodeListCursor({ owned: key }, binding);
    const same = { accountId: 'acct-me', scope: 'triton', filter: { tags: { b: '2', a: '1' }, os: 'linux', name: undefined } };
    expect(decodeListCursor(c, ['owned'], same)).toEqual({ owned: key });
    expect(canonicalFilter(same.filter)).toBe(canonicalFilter(binding.filter));
  });

  it.each([
    ['another caller', { ...binding, accountId: 'acct-x' }],
    ['another dialect', { ...binding, scope: 'ims:[]' }],
    ['another filter', { ...binding, filter: { os: 'smartos', tags: { a: '1', b: '2' } } }],
    ['another tag value', { ...binding, filter: { os: 'linux', tags: { a: '1', b: '3' } } }],
    ['one filter fewer', { ...binding, filter: { os: 'linux' } }],
  ])('refuses a marker replayed by %s', (_label, other) => {
    const c = encodeListCursor({ owned: key }, binding);
    expect(() => decodeListCursor(c, ['owned'], other)).toThrow(ValidationError);
  });

  const ALL = ['owned', 'shared', 'public'] as const;
  const raw = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  it.each([
    ['garbage', 'not base64 !!', ALL],
    ['not JSON', Buffer.from('{{').toString('base64url'), ALL],
    ['the unbound version 1', raw({ v: 1, p: { owned: key, shared: key, public: key } }), ALL],
    ['no binding', raw({ v: 2, p: { owned: key, shared: key, public: key } }), ALL],
    ['a made-up binding', raw({ v: 2, b: 'A'.repeat(22), p: { owned: key, shared: key, public: key } }), ALL],
    ['a source this query does not read', encodeListCursor({ owned: key, public: key }, binding), ['owned', 'shared'] as const],
    ['a position that is not a sort key', encodeListCursor({ owned: 'IMAGE#x', shared: null, public: null }, binding), ALL],
    ['a number', Buffer.from('42').toString('base64url'), ALL],
    ['too long', 'A'.repeat(3000), ALL],
  ])('rejects %s with a ValidationError', (_label, cursor, sources) => {
    expect(() => decodeListCursor(cursor, sources, binding)).toThrow(ValidationError);
  });

  it('rejects a cursor issued for other sources', () => {
    expect(() => decodeListCursor(encodeListCursor({ owned: key }, binding), ['owned', 'shared', 'public'], binding)).toThrow(
      ValidationError,
    );
  });
});
