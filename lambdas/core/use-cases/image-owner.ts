/**
 * The owner-only precondition of UpdateImage, DeleteImage and ExportImage: an image the caller cannot
 * see answers exactly like an absent one (404); one it can see but does not own is NotAuthorized.
 */
import type { Principal } from '../account';
import { NotAuthorizedError, NotFoundError } from '../errors';
import { canSee, type Image } from '../image';
import type { ImageRepository } from '../ports';

export async function ownedImage(images: ImageRepository, caller: Principal, id: string, verb: string): Promise<Image> {
  const image = await images.get(id);
  if (!image || !canSee(image, caller.accountId)) throw new NotFoundError('image not found');
  if (image.owner !== caller.accountId) throw new NotAuthorizedError(`only the owner of image ${id} may ${verb} it`);
  return image;
}
