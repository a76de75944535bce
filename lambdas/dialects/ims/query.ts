/**
 * The IMS list query (`GET /v2/cloudimages`) → the core ImageFilter plus the IMS-only filters the
 * core does not know (`__imagetype`, `__os_type`, `__platform`, `visibility`, `id`, `min_disk`),
 * which the dialect applies to each page. Paging: `limit` (1–1000, default 25 as Glance) and
 * `marker`, the opaque cursor of the page before (the `next` link carries it). Order: creation time,
 * ascending (`sort_key=created_at`, `sort_dir=asc`): the "visible to me" merge reads its three
 * sources in that one order, so other orders are refused clearly rather than answered wrongly.
 */
import * as z from 'zod';
import type { Image, ImageState } from '../../core/image';
import type { ImageFilter } from '../../core/image-filter';
import { errorFromIssues } from '../../core/validation';
import { fieldIssues } from '../../http/zod-issues';
import { imageType, osType, platform } from './serialize';

const STATUS_TO_STATE: Record<string, ImageState> = {
  queued: 'unactivated',
  saving: 'creating',
  active: 'active',
  killed: 'failed',
  deleted: 'deleted',
  deactivated: 'disabled',
};

export const listQuery = z.object({
  __imagetype: z.enum(['private', 'shared', 'gold']).optional(),
  __os_type: z.enum(['Linux', 'Windows', 'Other']).optional(),
  __platform: z.string().min(1).max(64).optional(),
  status: z.enum(['queued', 'saving', 'active', 'killed', 'deleted', 'deactivated']).optional(),
  name: z.string().min(1).max(255).optional(),
  visibility: z.enum(['public', 'private', 'shared']).optional(),
  id: z.string().min(1).max(64).optional(),
  /** The owning project (an image's `owner`); with `__imagetype=private` another project's id matches nothing. */
  owner: z.string().min(1).max(64).optional(),
  min_disk: z.coerce.number().int().min(0).optional(),
  tag: z.string().min(1).max(300).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  marker: z.string().min(1).max(4096).optional(),
  sort_key: z.enum(['created_at']).optional(),
  sort_dir: z.enum(['asc']).optional(),
  /** Shares by the caller's answer: pending and rejected ones are listed only when asked for. */
  member_status: z.enum(['accepted', 'pending', 'rejected']).optional(),
});

export interface ImsListQuery {
  filter: ImageFilter;
  /** The IMS-only filters, applied by the dialect. */
  keep: (image: Image, accountId: string) => boolean;
  limit: number;
  cursor?: string;
  /** The query string without the marker, for `first`/`next` links. */
  links: Record<string, string>;
  /** `__imagetype=private`: only the caller's own images (the handler adds `owner`, so only they are read). */
  ownOnly: boolean;
}

export function parseListQuery(query: Record<string, string>): ImsListQuery {
  const r = listQuery.safeParse(query);
  if (!r.success) throw errorFromIssues(fieldIssues(r.error, query));
  const q = r.data;
  const filter: ImageFilter = { state: q.status ? STATUS_TO_STATE[q.status] : 'all' };
  if (q.name !== undefined) filter.name = q.name;
  if (q.owner !== undefined) filter.owner = q.owner;
  if (q.member_status !== undefined) filter.memberStatus = q.member_status;
  if (q.tag !== undefined) {
    const m = /^([^=.]+)[=.](.*)$/.exec(q.tag);
    filter.tags = m ? { [m[1]]: m[2] } : { [q.tag]: '' };
  }
  if (q.__imagetype === 'gold' || q.visibility === 'public') filter.public = true;
  const keep = (image: Image, accountId: string): boolean => {
    if (q.__imagetype && imageType(image, accountId) !== q.__imagetype) return false;
    if (q.visibility === 'private' && (image.owner !== accountId || image.public || image.acl.length > 0)) return false;
    if (q.visibility === 'shared' && (image.public || image.acl.length === 0)) return false;
    if (q.__os_type && osType(image.os) !== q.__os_type) return false;
    if (q.__platform && platform(image) !== q.__platform) return false;
    if (q.id && image.id !== q.id) return false;
    if (q.owner && image.owner !== q.owner) return false;
    if (q.min_disk !== undefined && (image.requirements?.min_disk ?? 0) !== q.min_disk) return false;
    return true;
  };
  const links = Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'marker' && k in listQuery.shape));
  return { filter, keep, limit: q.limit ?? 25, cursor: q.marker, links, ownOnly: q.__imagetype === 'private' };
}
