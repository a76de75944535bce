/**
 * Which images a listing returns, dialect-neutral: the filters CloudAPI's ListImages takes (and IMS
 * maps onto). The repository may push some of them down as FilterExpressions; the core always
 * re-applies `matchesFilter` to what comes back, so a source that cannot filter (the acl entries)
 * is still exact.
 */
import type { Image, ImageState, MemberStatus } from './image';

export interface ImageFilter {
  /** Default `active`; `all` is every state but `deleted` (a tombstone is never listed). */
  state?: ImageState | 'all';
  /** Exact name. */
  name?: string;
  /** Substring of the name (CloudAPI's `name=~sub`). */
  nameContains?: string;
  os?: string;
  version?: string;
  type?: string;
  owner?: string;
  public?: boolean;
  /**
   * Which shares of the `shared` source: `accepted` (default) — pending and rejected shares are never
   * listed unless asked for (docs/decisions/sharing-consent.md). Not an image attribute.
   */
  memberStatus?: MemberStatus;
  /** Every listed tag must hold this value (compared as strings: query values are strings). */
  tags?: Record<string, string>;
}

export const effectiveState = (f: ImageFilter): ImageState | 'all' => f.state ?? 'active';

export function matchesFilter(image: Image, f: ImageFilter): boolean {
  if (image.state === 'deleted') return false;
  const state = effectiveState(f);
  if (state !== 'all' && image.state !== state) return false;
  if (f.name !== undefined && image.name !== f.name) return false;
  if (f.nameContains !== undefined && !image.name.includes(f.nameContains)) return false;
  if (f.os !== undefined && image.os !== f.os) return false;
  if (f.version !== undefined && image.version !== f.version) return false;
  if (f.type !== undefined && image.type !== f.type) return false;
  if (f.owner !== undefined && image.owner !== f.owner) return false;
  if (f.public !== undefined && image.public !== f.public) return false;
  for (const [k, v] of Object.entries(f.tags ?? {})) {
    const actual = image.tags?.[k];
    if (actual === undefined || String(actual) !== v) return false;
  }
  return true;
}
