/**
 * GET /{login}/images/{id}/file — GetImageFile: a redirect to a short-lived presigned URL; with
 * `?redirect=false`, 200 `{url, expires_in}` instead (a browser's fetch cannot read a redirect's
 * Location, so the web console asks for the URL itself and navigates to it).
 */
import { NotFoundError } from '../../../core/errors';
import { getImageFile } from '../../../core/use-cases/get-image-file';
import { httpHandler, type HttpResponse } from '../../../http/middleware';
import { fileUrlSigner, imageRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';

export const handler = httpHandler({ operation: 'GetImageFile', renderer: tritonRenderer }, async (req): Promise<HttpResponse> => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('image not found');
  const { url, expiresInSeconds } = await getImageFile({ images: imageRepository(), signer: fileUrlSigner() })(req.caller, req.params.id);
  if (req.query.redirect === 'false')
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: { url, expires_in: expiresInSeconds } };
  return { status: 302, headers: { location: url, 'cache-control': `private, max-age=${expiresInSeconds - 30}` } };
});
