/**
 * GET /{login}/images — ListImages: every image the caller may see (own, shared through acl, public),
 * filtered as CloudAPI filters (`name` exact or `~substring`, os, version, public, state — default
 * active, `all` for every state —, owner, type, `tag.KEY=VALUE`), paged with `limit` and an opaque
 * `marker` (the next one in `x-next-marker`); `x-resource-count` is the page's size. A sparse filter
 * may answer a short (even empty) page with a marker: each request reads a bounded number of
 * images (docs/decisions/listing-cost.md); a marker is refused with other filters or another caller.
 */
import { listVisibleImages } from '../../../core/use-cases/list-images';
import type { ImageFilter } from '../../../core/image-filter';
import { httpHandler } from '../../../http/middleware';
import { imageRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { parsePageQuery } from '../query';
import { listImagesQuery, parseWith } from '../schemas';
import { serializeImage } from '../serialize';

export function parseImageFilter(query: Record<string, string>): ImageFilter {
  const q = parseWith(listImagesQuery, {
    name: query.name,
    os: query.os,
    version: query.version,
    public: query.public,
    state: query.state,
    owner: query.owner,
    type: query.type,
    member_status: query.member_status,
  });
  const tags = Object.fromEntries(
    Object.entries(query)
      .filter(([k]) => k.startsWith('tag.') && k.length > 4)
      .map(([k, v]) => [k.slice(4), v]),
  );
  return {
    ...(q.name !== undefined && (q.name.startsWith('~') ? { nameContains: q.name.slice(1) } : { name: q.name })),
    ...(q.os !== undefined && { os: q.os }),
    ...(q.version !== undefined && { version: q.version }),
    ...(q.public !== undefined && { public: q.public === 'true' }),
    ...(q.state !== undefined && { state: q.state }),
    ...(q.owner !== undefined && { owner: q.owner }),
    ...(q.type !== undefined && { type: q.type }),
    ...(q.member_status !== undefined && { memberStatus: q.member_status }),
    ...(Object.keys(tags).length && { tags }),
  };
}

export const handler = httpHandler({ operation: 'ListImages', renderer: tritonRenderer }, async (req) => {
  const filter = parseImageFilter(req.query);
  const page = await listVisibleImages({ images: imageRepository() })(
    req.caller,
    { ...parsePageQuery(req.query), ...filter },
    { scope: 'triton' },
  );
  return {
    status: 200,
    body: page.items.map((image) => serializeImage(image, req.caller.accountId)),
    headers: { 'x-resource-count': String(page.items.length), ...(page.cursor ? { 'x-next-marker': page.cursor } : {}) },
  };
});
