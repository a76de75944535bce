/** PATCH /v2/cloudimages/{image_id} — UpdateImage (IMS): a JSON-patch list; 200 with the image. */
import { updateImsImage } from '../../../core/use-cases/ims-update-image';
import { httpHandler } from '../../../http/middleware';
import { clock, imageRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { parsePatch } from '../schemas';
import { serializeImage } from '../serialize';

export const handler = httpHandler({ operation: 'ImsUpdateImage', renderer: imsRenderer }, async (req) => {
  const changes = parsePatch(req.body);
  const image = await updateImsImage({ images: imageRepository(), clock })(req.caller, req.params.image_id, changes);
  return { status: 200, body: serializeImage(image, req.caller.accountId) };
});
