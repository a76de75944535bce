/**
 * UpdateImage for IMS (`PATCH /v2/cloudimages/{id}`): the owner changes name, description, OS version
 * and the memory requirements of an `active` image (IMS updates only active images). A new name must
 * be free among the owner's images (IMG.0009: a conditional claim of its name record). The dialect-neutral updateImage does not take the
 * requirements and allows any state, hence this use case; it shares its precondition (ownedImage).
 * The write is conditional on `active` and the image's `rev`.
 */
import type { Principal } from '../account';
import { InvalidParameterError, StateConflictError, ValidationError } from '../errors';
import type { Image } from '../image';
import type { Clock, ImageRepository } from '../ports';
import { ownedImage } from './image-owner';

export interface ImsImageChangesCommand {
  name?: string;
  /** null removes. */
  description?: string | null;
  os_version?: string | null;
  min_ram?: number | null;
  max_ram?: number | null;
}

export const updateImsImage =
  (deps: { images: ImageRepository; clock: Clock }) =>
  async (caller: Principal, id: string, changes: ImsImageChangesCommand): Promise<Image> => {
    const image = await ownedImage(deps.images, caller, id, 'update');
    if (image.state !== 'active')
      throw new StateConflictError(`image ${id} is ${image.state}; only active images can be updated`, image.state);
    const requirements = { ...image.requirements };
    for (const k of ['min_ram', 'max_ram'] as const) {
      const v = changes[k];
      if (v === null) delete requirements[k];
      else if (v !== undefined) requirements[k] = v;
    }
    if (
      requirements.min_ram !== undefined &&
      requirements.max_ram !== undefined &&
      requirements.max_ram > 0 &&
      requirements.min_ram > requirements.max_ram
    ) {
      throw new ValidationError('min_ram must not exceed max_ram', [
        { field: 'min_ram', code: 'Invalid', message: 'must not exceed max_ram' },
      ]);
    }
    // A rename claims the new name first (exclusively, IMG.0009), releases the old one once written,
    // and gives the new one back if the write loses (docs/decisions/name-uniqueness.md).
    const renaming = changes.name !== undefined && changes.name !== image.name;
    if (renaming && !(await deps.images.claimName(image.owner, changes.name!, id, { exclusive: true }))) {
      throw new InvalidParameterError(`an image named ${JSON.stringify(changes.name)} already exists`, [
        { field: 'name', code: 'Invalid', message: 'an image with this name already exists' },
      ]);
    }
    let updated: Image;
    try {
      updated = await deps.images.update(
        id,
        { states: ['active'], rev: image.rev },
        {
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.description !== undefined && { description: changes.description ?? undefined }),
          ...(changes.os_version !== undefined && { os_version: changes.os_version ?? undefined }),
          requirements,
          updated_at: deps.clock.now().toISOString(),
        },
      );
    } catch (err) {
      // Give the new name back, unless a concurrent rename of this image to it won.
      if (renaming && (await deps.images.get(id))?.name !== changes.name)
        await deps.images.releaseName(image.owner, changes.name!, id).catch(() => undefined);
      throw err;
    }
    if (renaming) await deps.images.releaseName(image.owner, image.name, id);
    return updated;
  };
