/**
 * The "visible images" listing cursor: for each source of the merge (owned, shared, public), the
 * sort key it resumes after, `''` to start from the beginning, or `null` once that source is
 * exhausted; and a binding — a digest of the caller's account, the listing's scope (which dialect
 * and its own filters) and the core filter. Encoded as base64url JSON and checked on decode: a
 * tampered or foreign marker, or one replayed by another caller or with other filters, is a
 * ValidationError (4xx in the dialect's shape), never a 500 and never a wider listing.
 * Sort keys are `<ISO time>#<uuid>`; nothing else is accepted.
 *
 * The binding is not a secret: the caller can still write a marker of its own with other positions.
 * That can only move where each source resumes — which sources are read follows from the filter,
 * and every image is checked against the caller's visibility and the filter again — so a marker can
 * never show an image the unbounded listing would not (docs/decisions/listing-cost.md).
 */
import { createHash } from 'node:crypto';
import { ValidationError } from './errors';
import type { ImageFilter } from './image-filter';
import type { ImageSource } from './ports';

/** `null`: exhausted; `''`: from the start; otherwise the sort key to resume after. */
export type SourcePositions = Partial<Record<ImageSource, string | null>>;

/** Who asked for what: the marker is valid only for the same caller, scope and filter. */
export interface CursorBinding {
  accountId: string;
  /** The dialect's listing and its own filters (e.g. IMS's `visibility`), canonical. */
  scope: string;
  filter: ImageFilter;
}

const VERSION = 2;
const SOURCES: readonly ImageSource[] = ['owned', 'shared', 'public'];
const SORT_KEY_RE = /^[0-9A-Za-z:.+-]{1,40}#[0-9A-Fa-f-]{36}$/;
const BINDING_RE = /^[A-Za-z0-9_-]{22}$/;

const invalid = (message = 'marker is not a cursor this service issued for this listing') =>
  new ValidationError('invalid marker', [{ field: 'marker', code: 'Invalid', message }]);

/** The filter with its keys (and its tags' keys) in a fixed order, undefined fields dropped. */
export function canonicalFilter(filter: ImageFilter): string {
  const entries = Object.entries(filter)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, k === 'tags' ? Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : v]);
  return JSON.stringify(entries);
}

export function bindingDigest(b: CursorBinding): string {
  return createHash('sha256')
    .update(JSON.stringify([b.accountId, b.scope, canonicalFilter(b.filter)]))
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

export function encodeListCursor(positions: SourcePositions, binding: CursorBinding): string {
  return Buffer.from(JSON.stringify({ v: VERSION, b: bindingDigest(binding), p: positions })).toString('base64url');
}

/** Decodes a marker issued for exactly `sources` and this binding; throws ValidationError otherwise. */
export function decodeListCursor(cursor: string, sources: readonly ImageSource[], binding: CursorBinding): SourcePositions {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const { v, b, p } = parsed as { v?: unknown; b?: unknown; p?: unknown };
  if (v !== VERSION || typeof b !== 'string' || !BINDING_RE.test(b) || !p || typeof p !== 'object' || Array.isArray(p)) throw invalid();
  if (b !== bindingDigest(binding)) throw invalid('marker was issued to another caller or for other filters');
  const positions = p as Record<string, unknown>;
  const keys = Object.keys(positions);
  if (
    keys.length !== sources.length ||
    !keys.every((k) => (SOURCES as readonly string[]).includes(k) && sources.includes(k as ImageSource))
  )
    throw invalid();
  for (const value of Object.values(positions)) {
    if (value !== null && value !== '' && (typeof value !== 'string' || !SORT_KEY_RE.test(value))) throw invalid();
  }
  return positions as SourcePositions;
}
