/** GET /{login}/images/{id}[?wait=N] — GetImage, in any state; long-polls with `wait` (long-poll.ts). */
import { NotFoundError } from '../../../core/errors';
import { getImage } from '../../../core/use-cases/get-image';
import { httpHandler } from '../../../http/middleware';
import { imageRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';
import { serializeImage } from '../serialize';
import { etagOf, readWaiting } from '../long-poll';

export const handler = httpHandler({ operation: 'GetImage', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('image not found');
  const image = await readWaiting(req, () => getImage({ images: imageRepository() })(req.caller, req.params.id));
  return { status: 200, body: serializeImage(image, req.caller.accountId), headers: { etag: etagOf(image.rev) } };
});
