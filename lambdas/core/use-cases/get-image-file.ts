/** GetImageFile: a short-lived download URL for an active image's file the caller may see. */
import type { Principal } from '../account';
import { NotFoundError, StateConflictError } from '../errors';
import type { FileUrlSigner, ImageRepository } from '../ports';
import { getImage } from './get-image';

export const FILE_URL_TTL_SECONDS = 300;

export const getImageFile =
  (deps: { images: ImageRepository; signer: FileUrlSigner }) =>
  async (caller: Principal, id: string): Promise<{ url: string; expiresInSeconds: number }> => {
    const image = await getImage(deps)(caller, id);
    const file = image.files[0];
    if (image.state !== 'active' && image.state !== 'disabled') {
      throw new StateConflictError(`image ${id} is ${image.state} and has no file to download`, image.state);
    }
    if (!file) throw new NotFoundError('image file not found');
    const ext = file.compression === 'gzip' ? '.gz' : '';
    const url = await deps.signer.presignImageFile(file.key, {
      expiresInSeconds: FILE_URL_TTL_SECONDS,
      filename: `${image.name}-${image.version}.${file.format}${ext}`,
    });
    return { url, expiresInSeconds: FILE_URL_TTL_SECONDS };
  };
