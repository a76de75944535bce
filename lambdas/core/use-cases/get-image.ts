/** GetImage: any state; an image the caller may not see answers exactly like an absent one. */
import type { Principal } from '../account';
import { NotFoundError } from '../errors';
import { canSee, type Image } from '../image';
import type { ImageRepository } from '../ports';

export const getImage =
  (deps: { images: ImageRepository }) =>
  async (caller: Principal, id: string): Promise<Image> => {
    const image = await deps.images.get(id);
    if (!image || !canSee(image, caller.accountId)) throw new NotFoundError('image not found');
    return image;
  };
