/**
 * ListImages reads a bounded number of index entries per request (docs/decisions/listing-cost.md):
 * a sparse filter answers short pages with markers, and the pages together are exactly the
 * unbounded listing — checked against a direct computation over random images, sources, filters,
 * dialect-only filters and page sizes. Reads are counted on the in-memory repository, whose sources
 * return their entries unfiltered (every entry returned is an entry evaluated).
 */
import fc from 'fast-check';
import {
  listVisibleImages,
  readBudget,
  sourcesFor,
  type ListImagesOptions,
  type ListImagesQuery,
} from '../../../lambdas/core/use-cases/list-images';
import { canSee, type Image } from '../../../lambdas/core/image';
import { matchesFilter, type ImageFilter } from '../../../lambdas/core/image-filter';
import { ValidationError } from '../../../lambdas/core/errors';
import { encodeListCursor } from '../../../lambdas/core/list-cursor';
import type { ImageSource, ImageSourcePage } from '../../../lambdas/core/ports';
import { FakeImages } from '../../helpers/fakes';

const me = { accountId: 'acct-me', login: 'me', roles: [] };
const other = { accountId: 'acct-x', login: 'x', roles: [] };

/** Counts the entries each request evaluates. */
class CountingImages extends FakeImages {
  read = 0;
  override async listSource(
    source: ImageSource,
    account: string,
    opts: { after?: string; limit: number; filter: ImageFilter },
  ): Promise<ImageSourcePage> {
    const page = await super.listSource(source, account, opts);
    this.read += page.items.length;
    return page;
  }
}

const key = (i: Image) => `${i.created_at}#${i.id}`;
let n = 0;
function image(overrides: Partial<Image> = {}): Image {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  return {
    id,
    owner: 'acct-me',
    name: 'img',
    version: '1',
    acl: [],
    tags: {},
    requirements: {},
    os: 'linux',
    type: 'zvol',
    state: 'active',
    public: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    files: [],
    rev: 1,
    ...overrides,
  };
}

async function seed(images: FakeImages, list: Image[], rejected = new Set<string>()) {
  for (const i of list) {
    await images.create(i);
    if (!i.acl.length) continue;
    await images.addAclEntries(i.id, i.acl);
    for (const a of i.acl) await images.setMemberStatus(i.id, a, rejected.has(i.id) ? 'rejected' : 'accepted');
  }
}

/** Every page, following markers; the entries each request read. */
async function walk(images: CountingImages, caller: typeof me, q: ListImagesQuery, opts?: ListImagesOptions) {
  const list = listVisibleImages({ images });
  const ids: string[] = [];
  const reads: number[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  do {
    images.read = 0;
    const page = await list(caller, { ...q, cursor }, opts);
    reads.push(images.read);
    sizes.push(page.items.length);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.cursor;
    if (reads.length > 5000) throw new Error('does not terminate');
  } while (cursor);
  return { ids, reads, sizes };
}

/** The unbounded listing, computed directly: what every page together must be. */
function expected(images: FakeImages, caller: typeof me, filter: ImageFilter, accept: (i: Image) => boolean = () => true): string[] {
  const sources = sourcesFor(caller, filter);
  const inSource = (i: Image, s: ImageSource) =>
    s === 'owned'
      ? i.owner === caller.accountId
      : s === 'public'
        ? i.public
        : images.aclEntries.has(`${i.id}|${caller.accountId}`) &&
          (images.memberStatus.get(`${i.id}|${caller.accountId}`) ?? 'pending') === (filter.memberStatus ?? 'accepted');
  return [...images.items.values()]
    .filter((i) => sources.some((s) => inSource(i, s)) && canSee(i, caller.accountId) && matchesFilter(i, filter) && accept(i))
    .sort((a, b) => (key(a) < key(b) ? -1 : 1))
    .map((i) => i.id);
}

const at = (s: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000).toISOString();

describe('ListImages read budget', () => {
  it('a sparse filter: short pages with markers, each request within the budget, together exactly the matches', async () => {
    const images = new CountingImages();
    const list = Array.from({ length: 2000 }, (_, i) =>
      image({ created_at: at(i), tags: i === 3 || i === 999 || i === 1998 ? { role: 'db' } : {} }),
    );
    await seed(images, list);
    const { ids, reads, sizes } = await walk(images, me, { owner: 'acct-me', tags: { role: 'db' }, limit: 10 });
    expect(ids).toEqual([list[3].id, list[999].id, list[1998].id]);
    expect(Math.max(...reads)).toBeLessThanOrEqual(readBudget(10));
    expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(2000 / readBudget(10)));
    expect(sizes.filter((s) => s < 10).length).toBe(sizes.length); // every page short: the filter is sparse
    expect(readBudget(10)).toBe(100);
  });

  it('a dense listing still fills its page in one request', async () => {
    const images = new CountingImages();
    const own = Array.from({ length: 1000 }, (_, i) => image({ created_at: at(i) }));
    const pub = Array.from({ length: 500 }, (_, i) => image({ owner: 'acct-y', public: true, created_at: at(i + 0.5) }));
    await seed(images, [...own, ...pub]);
    const page = await listVisibleImages({ images })(me, { limit: 1000 });
    expect(page.items).toHaveLength(1000);
    expect(page.cursor).toBeDefined();
    expect((await walk(images, me, { limit: 1000 })).ids).toEqual(expected(images, me, {}));
  });

  it('applies a dialect’s own filter inside the budget, and binds the marker to it', async () => {
    const images = new CountingImages();
    const list = Array.from({ length: 600 }, (_, i) => image({ created_at: at(i), requirements: i % 250 === 7 ? { min_disk: 40 } : {} }));
    await seed(images, list);
    const accept = (i: Image) => i.requirements?.min_disk === 40;
    const opts = { accept, scope: 'ims:[["min_disk","40"]]' };
    const { ids, reads } = await walk(images, me, { limit: 25 }, opts);
    expect(ids).toEqual([list[7].id, list[257].id, list[507].id]);
    expect(Math.max(...reads)).toBeLessThanOrEqual(readBudget(25));
    const first = await listVisibleImages({ images })(me, { limit: 25 }, opts);
    expect(first.cursor).toBeDefined();
    await expect(
      listVisibleImages({ images })(me, { limit: 25, cursor: first.cursor }, { ...opts, scope: 'ims:[["min_disk","10"]]' }),
    ).rejects.toThrow(ValidationError);
  });

  it('refuses a marker replayed by another caller or with another filter; another page size is fine', async () => {
    const images = new CountingImages();
    await seed(
      images,
      Array.from({ length: 300 }, (_, i) => image({ created_at: at(i), public: true, os: i === 250 ? 'smartos' : 'linux' })),
    );
    const first = await listVisibleImages({ images })(me, { os: 'smartos', limit: 5 });
    expect(first.items).toEqual([]);
    expect(first.cursor).toBeDefined();
    await expect(listVisibleImages({ images })(other, { os: 'smartos', limit: 5, cursor: first.cursor })).rejects.toThrow(ValidationError);
    await expect(listVisibleImages({ images })(me, { os: 'linux', limit: 5, cursor: first.cursor })).rejects.toThrow(ValidationError);
    await expect(listVisibleImages({ images })(me, { limit: 5, cursor: first.cursor })).rejects.toThrow(ValidationError);
    const found: string[] = [];
    for (let cursor = first.cursor; cursor; ) {
      const next = await listVisibleImages({ images })(me, { os: 'smartos', limit: 50, cursor });
      found.push(...next.items.map((i) => i.os));
      cursor = next.cursor;
    }
    expect(found).toEqual(['smartos']);
  });

  it('a marker the caller writes itself moves where sources resume, never what they may show', async () => {
    const images = new CountingImages();
    const list = Array.from({ length: 40 }, (_, i) =>
      image({
        owner: ['acct-me', 'acct-x', 'acct-y'][i % 3],
        public: i % 4 === 0,
        acl: i % 5 === 0 && i % 3 !== 0 ? ['acct-me'] : [],
        created_at: at(i),
      }),
    );
    await seed(images, list);
    const visible = new Set(expected(images, me, {}));
    const positions = ['', null, key(list[3]), key(list[20]), key(list[39])];
    for (const owned of positions)
      for (const shared of positions)
        for (const pub of positions) {
          const forged = encodeListCursor({ owned, shared, public: pub }, { accountId: 'acct-me', scope: '', filter: {} });
          const page = await listVisibleImages({ images })(me, { limit: 1000, cursor: forged });
          for (const i of page.items) expect(visible.has(i.id)).toBe(true);
        }
  });

  it('pages of random listings, filters and page sizes are exactly the unbounded listing, each request within the budget', async () => {
    const spec = fc.record({
      images: fc.array(
        fc.record({
          owner: fc.constantFrom('acct-me', 'acct-x', 'acct-y'),
          public: fc.boolean(),
          shared: fc.boolean(),
          rejected: fc.boolean(),
          os: fc.constantFrom('linux', 'linux', 'linux', 'linux', 'smartos'),
          name: fc.constantFrom('a', 'b'),
          state: fc.constantFrom('active', 'active', 'active', 'creating', 'deleted'),
          t: fc.integer({ min: 0, max: 40 }),
          tag: fc.boolean(),
        }),
        { maxLength: 400 },
      ),
      filter: fc.constantFrom<ImageFilter>(
        {},
        { os: 'smartos' },
        { owner: 'acct-x' },
        { owner: 'acct-me' },
        { public: true },
        { public: false },
        { tags: { k: 'v' } },
        { name: 'b', state: 'all' },
        { memberStatus: 'rejected' },
      ),
      accept: fc.constantFrom(undefined, 'b-only'),
      limit: fc.integer({ min: 1, max: 60 }),
    });
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const images = new CountingImages();
        const list: Image[] = [];
        const rejected = new Set<string>();
        for (const x of s.images) {
          const img = image({
            owner: x.owner,
            public: x.public,
            acl: x.shared && x.owner !== 'acct-me' ? ['acct-me'] : [],
            os: x.os,
            name: x.name,
            state: x.state as Image['state'],
            created_at: at(x.t),
            tags: x.tag ? { k: 'v' } : {},
          });
          if (x.rejected) rejected.add(img.id);
          list.push(img);
        }
        await seed(images, list, rejected);
        const accept = s.accept ? (i: Image) => i.name === 'b' : undefined;
        const { ids, reads } = await walk(images, me, { ...s.filter, limit: s.limit }, { accept });
        expect(ids).toEqual(expected(images, me, s.filter, accept));
        expect(Math.max(...reads)).toBeLessThanOrEqual(readBudget(s.limit));
      }),
      { numRuns: 60, seed: 20261129 },
    );
  });
});
