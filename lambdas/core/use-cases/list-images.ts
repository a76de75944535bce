/**
 * ListImages (first slice): the caller's own images, one Query page at a time, filtered by state
 * (default `active`, `all` for every state). Shared and public sources join in the Triton issue.
 */
import type { Principal } from '../account';
import type { Image, ImageState } from '../image';
import type { ImageRepository, Page, PageRequest } from '../ports';

export interface ListImagesQuery extends PageRequest {
  state?: ImageState | 'all';
}

export const listImages =
  (deps: { images: ImageRepository }) =>
  async (caller: Principal, q: ListImagesQuery): Promise<Page<Image>> => {
    const page = await deps.images.listByOwner(caller.accountId, q);
    const state = q.state ?? 'active';
    const items = page.items.filter((i) => i.state !== 'deleted' && (state === 'all' || i.state === state));
    return { items, cursor: page.cursor };
  };
