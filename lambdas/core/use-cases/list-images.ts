/**
 * ListImages, "visible to me": a k-way merge of three ordered sources — the caller's own images,
 * images shared with the caller (acl entries), and public images — each read with Query in the same
 * ascending order of the unique sort key `<created_at>#<id>`, deduplicated (an image has the same
 * key in every source), filtered, and confirmed visible on the image item itself (an acl entry is
 * only a hint: the image's `acl` attribute decides). The cursor carries each source's position.
 *
 * Because the merge always takes the smallest head, every item of every source up to the last key
 * emitted has been consumed, so each live source resumes strictly after that key; exhausted sources
 * are recorded as such and not queried again.
 */
import type { Principal } from '../account';
import { canSee, type Image } from '../image';
import { matchesFilter, type ImageFilter } from '../image-filter';
import { decodeListCursor, encodeListCursor, type SourcePositions } from '../list-cursor';
import type { ImageRepository, ImageSource, Page, PageRequest } from '../ports';

export interface ListImagesQuery extends PageRequest, ImageFilter {}

export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 1000;

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
  buffer: { image: Image; sortKey: string }[];
  after?: string;
  exhausted: boolean;
}

export const listVisibleImages =
  (deps: { images: ImageRepository }) =>
  async (caller: Principal, q: ListImagesQuery): Promise<Page<Image>> => {
    const limit = Math.max(1, Math.min(q.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT));
    const { limit: _l, cursor, ...filter } = q;
    void _l;
    const sources = sourcesFor(caller, filter);
    const start: SourcePositions = cursor ? decodeListCursor(cursor, sources) : {};
    const readers: SourceReader[] = sources.map((source) => {
      const pos = start[source];
      return { source, buffer: [], after: pos ?? undefined, exhausted: pos === null };
    });

    const fill = async (r: SourceReader) => {
      while (r.buffer.length === 0 && !r.exhausted) {
        const page = await deps.images.listSource(r.source, caller.accountId, { after: r.after, limit: limit + 1, filter });
        // Confirmed on the image item itself: an acl entry or index entry is only a hint.
        r.buffer.push(...page.items.filter(({ image }) => canSee(image, caller.accountId) && matchesFilter(image, filter)));
        r.exhausted = page.exhausted;
        if (page.lastKey) r.after = page.lastKey;
        else if (page.items.length) r.after = page.items[page.items.length - 1].sortKey;
      }
    };

    const items: Image[] = [];
    const seen = new Set<string>();
    let lastKey: string | undefined;
    while (items.length < limit) {
      await Promise.all(readers.map(fill));
      const live = readers.filter((r) => r.buffer.length > 0);
      if (live.length === 0) break;
      const key = live.reduce((min, r) => (r.buffer[0].sortKey < min ? r.buffer[0].sortKey : min), live[0].buffer[0].sortKey);
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

    // Is there anything after this page? Peek (fills buffers) so the last page carries no cursor.
    await Promise.all(readers.map(fill));
    const more = readers.some((r) => r.buffer.length > 0);
    if (!more || lastKey === undefined) return { items };
    const positions: SourcePositions = {};
    for (const r of readers) positions[r.source] = r.exhausted && r.buffer.length === 0 ? null : lastKey;
    return { items, cursor: encodeListCursor(positions) };
  };

/** The name the first slice's handler used. */
export const listImages = listVisibleImages;
