/**
 * GET /v2/cloudimages — ListImages (IMS): the images the caller may see (own, shared with it, public),
 * `{"images": [...]}` in IMS field names, with Glance's `first` and `next` links.
 * One page of the core's "visible to me" listing, the IMS-only filters applied inside it, so a
 * request reads a bounded number of images (docs/decisions/listing-cost.md): a sparse filter may
 * answer fewer than `limit` images (even none) with a `next` link to continue. The marker is bound
 * to the caller and every filter of the query (not `limit`): other filters or another caller → IMG.
 */
import { listVisibleImages } from '../../../core/use-cases/list-images';
import { httpHandler } from '../../../http/middleware';
import { imageRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { parseListQuery } from '../query';
import { serializeImage } from '../serialize';

export const handler = httpHandler({ operation: 'ImsListImages', renderer: imsRenderer }, async (req) => {
  const q = parseListQuery(req.query);
  const { limit: _l, ...filters } = q.links;
  void _l;
  const scope = `ims:${JSON.stringify(Object.entries(filters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
  const page = await listVisibleImages({ images: imageRepository() })(
    req.caller,
    { ...q.filter, ...(q.ownOnly && { owner: req.caller.accountId }), limit: q.limit, cursor: q.cursor },
    { accept: (image) => q.keep(image, req.caller.accountId), scope },
  );
  const link = (extra: Record<string, string>) =>
    `/v2/cloudimages?${new URLSearchParams({ ...q.links, ...extra, limit: String(q.limit) })}`;
  return {
    status: 200,
    body: {
      images: page.items.map((image) => serializeImage(image, req.caller.accountId)),
      first: link({}),
      ...(page.cursor ? { next: link({ marker: page.cursor }) } : {}),
      schema: '/v2/schemas/images',
    },
  };
});
