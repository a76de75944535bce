/**
 * ListImages, "visible to me": a k-way merge of three ordered sources — the caller's own images,
 * images shared with the caller (acl entries), and public images — each read with Query in the same
 * ascending order of the unique sort key `<created_at>#<id>`, deduplicated (an image has the same
 * key in every source), filtered, and confirmed visible on the image item itself (an acl entry is
 * only a hint: the image's `acl` attribute decides). The cursor carries each source's position.
 *
 * Every page costs O(page): a request evaluates at most `readBudget(limit)` index entries over all
 * its sources (docs/decisions/listing-cost.md). When a sparse filter spends the budget before the
 * page is full, the page is answered short — even empty — with a marker that resumes each source
 * where it was read to, not where its last match was: the pages together are exactly the unbounded
 * listing. A source whose budget ran out with nothing buffered has been read through its position,
 * so nothing of the other sources after that position may be emitted (it could come after an
 * unread item of that source): the merge stops there.
 */
import type { Principal } from '../account';
import { canSee, type Image } from '../image';
import { matchesFilter, type ImageFilter } from '../image-filter';
import { decodeListCursor, encodeListCursor, type CursorBinding, type SourcePositions } from '../list-cursor';
import type { ImageRepository, ImageSource, Page, PageRequest } from '../ports';

export interface ListImagesQuery extends PageRequest, ImageFilter {}

export interface ListImagesOptions {
  /** A dialect's own filters (IMS `visibility`, `__os_type`, …), applied within the same read budget. */
  accept?: (image: Image) => boolean;
  /** The dialect's listing and its own filters, canonical: the marker is bound to it. */
  scope?: string;
}

export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 1000;
export const MIN_READ_BUDGET = 100;
export const MAX_READ_BUDGET = 4000;

/** Index entries one request may evaluate: 4 × the page, at least 100, at most 4000. */
export const readBudget = (limit: number): number => Math.min(MAX_READ_BUDGET, Math.max(MIN_READ_BUDGET, 4 * limit));

/** Which sources can hold a match: fewer Queries when the filter rules sources out. */
export function sourcesFor(caller: Principal, f: ImageFilter): ImageSource[] {
  if (f.memberStatus !== undefined && f.memberStatus !== 'accepted') return ['shared'];
  if (f.public === true) return ['public'];
  if (f.owner !== undefined && f.owner === caller.accountId) return ['owned'];
  if (f.owner !== undefined) return f.public === false ? ['shared'] : ['shared', 'public'];
  if (f.public === false) return ['owned', 'shared'];
  return ['owned', 'shared', 'public'];
}

interface SourceReader {
  source: ImageSource;
  /** Matches read and not yet emitted, in order; every one is after `startAfter`. */
  buffer: { image: Image; sortKey: string }[];
  /** Read through this sort key ('' = nothing read yet). */
  after: string;
  /** Where this request started the source (the marker's position). */
  startAfter: string;
  exhausted: boolean;
  calls: number;
}

const maxKey = (a: string, b: string) => (a > b ? a : b);

export const listVisibleImages =
  (deps: { images: ImageRepository }) =>
  async (caller: Principal, q: ListImagesQuery, opts: ListImagesOptions = {}): Promise<Page<Image>> => {
    const limit = Math.max(1, Math.min(q.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT));
    const { limit: _l, cursor, ...filter } = q;
    void _l;
    const sources = sourcesFor(caller, filter);
    const binding: CursorBinding = { accountId: caller.accountId, scope: opts.scope ?? '', filter };
    const start: SourcePositions = cursor ? decodeListCursor(cursor, sources, binding) : {};
    const readers: SourceReader[] = sources.map((source) => {
      const pos = start[source];
      return { source, buffer: [], after: pos ?? '', startAfter: pos ?? '', exhausted: pos === null, calls: 0 };
    });
    const keep = (image: Image) => canSee(image, caller.accountId) && matchesFilter(image, filter) && (opts.accept?.(image) ?? true);
    let budget = readBudget(limit);

    const readOnce = async (r: SourceReader, ask: number) => {
      r.calls++;
      const page = await deps.images.listSource(r.source, caller.accountId, { after: r.after || undefined, limit: ask, filter });
      // What it cost, at least 1 (so the rounds always end), refunded from what was reserved.
      budget += ask - Math.max(1, page.read ?? page.items.length);
      // Confirmed on the image item itself: an acl entry or index entry is only a hint.
      r.buffer.push(...page.items.filter(({ image }) => keep(image)));
      r.exhausted = page.exhausted;
      if (page.lastKey) r.after = page.lastKey;
      else if (page.items.length) r.after = page.items[page.items.length - 1].sortKey;
    };
    const needy = () => readers.filter((r) => r.buffer.length === 0 && !r.exhausted);
    /**
     * Reads every source with nothing buffered until each has a match or is exhausted, or the budget
     * is spent. The budget is reserved before each round (so the bound holds with the sources read
     * in parallel) and shared out evenly; a source's first read asks for one page, a later one (a
     * sparse filter) for its whole share. With less budget than sources, the ones furthest behind.
     */
    const refill = async () => {
      for (;;) {
        const want = needy();
        if (want.length === 0 || budget <= 0) return;
        const share = Math.floor(budget / want.length);
        const order = [...want]
          .sort((a, b) => (a.after < b.after ? -1 : a.after > b.after ? 1 : 0))
          .slice(0, Math.min(want.length, budget));
        await Promise.all(
          order.map((r) => {
            const ask = Math.max(1, r.calls === 0 ? Math.min(limit + 1, share) : share);
            budget -= ask;
            return readOnce(r, ask);
          }),
        );
      }
    };

    const items: Image[] = [];
    const seen = new Set<string>();
    let lastKey = '';
    while (items.length < limit) {
      await refill();
      const stalled = needy();
      const horizon = stalled.length ? smallest(stalled.map((r) => r.after)) : undefined;
      const live = readers.filter((r) => r.buffer.length > 0);
      if (live.length === 0) break;
      const key = smallest(live.map((r) => r.buffer[0].sortKey));
      if (horizon !== undefined && key > horizon) break;
      let candidate: Image | undefined;
      for (const r of live) {
        if (r.buffer[0].sortKey !== key) continue;
        const { image } = r.buffer.shift()!;
        candidate ??= image;
      }
      lastKey = key;
      if (candidate && !seen.has(candidate.id)) {
        seen.add(candidate.id);
        items.push(candidate);
      }
    }

    // Is there anything after this page? Peek (within the budget left) so the last page carries no cursor.
    await refill();
    if (readers.every((r) => r.exhausted && r.buffer.length === 0)) return { items };
    const positions: SourcePositions = {};
    for (const r of readers) {
      // Nothing buffered: read through `after`, all of it emitted or filtered out. Buffered: its
      // matches come after the last key emitted; what lies before them is read again next time.
      positions[r.source] = r.buffer.length === 0 ? (r.exhausted ? null : r.after) : maxKey(lastKey, r.startAfter);
    }
    return { items, cursor: encodeListCursor(positions, binding) };
  };

/** The name the first slice's handler used. */
export const listImages = listVisibleImages;

/** The least of sort keys (strings: Math.min does not apply). */
function smallest(keys: string[]): string {
  let min = keys[0];
  for (const k of keys) if (k < min) min = k;
  return min;
}
