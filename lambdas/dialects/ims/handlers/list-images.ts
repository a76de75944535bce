/**
 * GET /v2/cloudimages — ListImages (IMS): the images the caller may see (own, shared with it, public),
 * `{"images": [...]}` in IMS field names, with Glance's `first` and `next` links.
 * Pages of the core's "visible to me" listing are read until `limit` images pass the IMS-only
 * filters, each page asking only for what is still missing, so no image is read and then dropped
 * from a page the cursor has already moved past.
 */
import { listVisibleImages } from '../../../core/use-cases/list-images';
import type { Image } from '../../../core/image';
import { httpHandler } from '../../../http/middleware';
import { imageRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { parseListQuery } from '../query';
import { serializeImage } from '../serialize';

const MAX_PAGES = 20;

export const handler = httpHandler({ operation: 'ImsListImages', renderer: imsRenderer }, async (req) => {
  const q = parseListQuery(req.query);
  const list = listVisibleImages({ images: imageRepository() });
  const images: Image[] = [];
  let cursor = q.cursor;
  for (let i = 0; i < MAX_PAGES && images.length < q.limit; i++) {
    const page = await list(req.caller, { ...q.filter, limit: q.limit - images.length, cursor });
    images.push(...page.items.filter((image) => q.keep(image, req.caller.accountId)));
    cursor = page.cursor;
    if (!cursor) break;
  }
  const link = (extra: Record<string, string>) => `/v2/cloudimages?${new URLSearchParams({ ...q.links, ...extra, limit: String(q.limit) })}`;
  return {
    status: 200,
    body: {
      images: images.map((image) => serializeImage(image, req.caller.accountId)),
      first: link({}),
      ...(cursor ? { next: link({ marker: cursor }) } : {}),
      schema: '/v2/schemas/images',
    },
  };
});
