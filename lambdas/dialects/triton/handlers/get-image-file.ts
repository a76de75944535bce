/** GET /{login}/images/{id}/file — GetImageFile: a redirect to a short-lived presigned URL. */
import { NotFoundError } from '../../../core/errors';
import { getImageFile } from '../../../core/use-cases/get-image-file';
import { httpHandler } from '../../../http/middleware';
import { fileUrlSigner, imageRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';

export const handler = httpHandler({ operation: 'GetImageFile', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('image not found');
  const { url, expiresInSeconds } = await getImageFile({ images: imageRepository(), signer: fileUrlSigner() })(req.caller, req.params.id);
  return { status: 302, headers: { location: url, 'cache-control': `private, max-age=${expiresInSeconds - 30}` } };
});
