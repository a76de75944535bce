/** GET /{login}/images — ListImages (first slice: the caller's own images, `state` filter, paging). */
import * as z from 'zod';
import { listImages } from '../../../core/use-cases/list-images';
import { httpHandler } from '../../../http/middleware';
import { imageRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { parsePageQuery } from '../query';
import { parseWith } from '../schemas';
import { serializeImage } from '../serialize';

const stateFilter = z.enum(['all', 'active', 'unactivated', 'disabled', 'creating', 'failed']).optional();

export const handler = httpHandler({ operation: 'ListImages', renderer: tritonRenderer }, async (req) => {
  const state = parseWith(z.object({ state: stateFilter }), { state: req.query.state }).state;
  const page = await listImages({ images: imageRepository() })(req.caller, { ...parsePageQuery(req.query), state });
  return {
    status: 200,
    body: page.items.map(serializeImage),
    headers: { 'x-resource-count': String(page.items.length), ...(page.cursor ? { 'x-next-marker': page.cursor } : {}) },
  };
});
