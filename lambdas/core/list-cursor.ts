/**
 * The "visible images" listing cursor: for each source of the merge (owned, shared, public), the
 * sort key it resumes after, or `null` once that source is exhausted. Encoded as base64url JSON and
 * checked on decode, so a tampered or foreign marker is a ValidationError (4xx), never a 500.
 * Sort keys are `<ISO time>#<uuid>`; nothing else is accepted.
 */
import { ValidationError } from './errors';
import type { ImageSource } from './ports';

export type SourcePositions = Partial<Record<ImageSource, string | null>>;

const SOURCES: readonly ImageSource[] = ['owned', 'shared', 'public'];
const SORT_KEY_RE = /^[0-9A-Za-z:.+-]{1,40}#[0-9A-Fa-f-]{36}$/;

const invalid = () =>
  new ValidationError('invalid marker', [{ field: 'marker', code: 'Invalid', message: 'marker is not a cursor this service issued for this listing' }]);

export function encodeListCursor(positions: SourcePositions): string {
  return Buffer.from(JSON.stringify({ v: 1, p: positions })).toString('base64url');
}

/** Decodes a marker issued for exactly `sources`; throws ValidationError otherwise. */
export function decodeListCursor(cursor: string, sources: readonly ImageSource[]): SourcePositions {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const { v, p } = parsed as { v?: unknown; p?: unknown };
  if (v !== 1 || !p || typeof p !== 'object' || Array.isArray(p)) throw invalid();
  const positions = p as Record<string, unknown>;
  const keys = Object.keys(positions);
  if (keys.length !== sources.length || !keys.every((k) => (SOURCES as readonly string[]).includes(k) && sources.includes(k as ImageSource))) throw invalid();
  for (const value of Object.values(positions)) {
    if (value !== null && (typeof value !== 'string' || !SORT_KEY_RE.test(value))) throw invalid();
  }
  return positions as SourcePositions;
}
