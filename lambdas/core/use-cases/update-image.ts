/**
 * UpdateImage: the owner changes name, version, description, homepage, eula, acl or tags (tags are
 * replaced, as IMGAPI does). The write is conditional on the image's `rev` (retried a few times if
 * the image moved on concurrently, e.g. a build finishing).
 *
 * Sharing without transactions: acl entry items (the shared-with index) are written BEFORE the
 * image's `acl` attribute when accounts are added, and removed AFTER it when accounts are removed.
 * Every intermediate state is safe because readers confirm visibility on the image item itself.
 */
import type { Principal } from '../account';
import { StateConflictError } from '../errors';
import type { Image, TagValue } from '../image';
import type { Clock, ImageRepository } from '../ports';
import { ownedImage } from './image-owner';

export interface ImageChanges {
  name?: string;
  version?: string;
  description?: string;
  homepage?: string;
  eula?: string;
  acl?: string[];
  tags?: Record<string, TagValue>;
}

const ATTEMPTS = 3;

export const updateImage =
  (deps: { images: ImageRepository; clock: Clock }) =>
  async (caller: Principal, id: string, changes: ImageChanges): Promise<Image> => {
    for (let attempt = 1; ; attempt++) {
      const image = await ownedImage(deps.images, caller, id, 'update');
      const acl = changes.acl === undefined ? image.acl : [...new Set(changes.acl)];
      const added = acl.filter((a) => !image.acl.includes(a));
      const removed = image.acl.filter((a) => !acl.includes(a));
      if (added.length) await deps.images.addAclEntries(id, added);
      // Names may repeat in Triton, but the image still holds its name's record (IMS counts it).
      const renaming = changes.name !== undefined && changes.name !== image.name;
      if (renaming) await deps.images.claimName(image.owner, changes.name!, id, { exclusive: false });
      let updated: Image;
      try {
        updated = await deps.images.update(
          id,
          { states: [image.state], rev: image.rev },
          { ...changes, ...(changes.acl !== undefined && { acl }), updated_at: deps.clock.now().toISOString() },
        );
      } catch (err) {
        // Give the new name back, unless a concurrent rename of this image to it won.
        if (renaming && (await deps.images.get(id))?.name !== changes.name)
          await deps.images.releaseName(image.owner, changes.name!, id).catch(() => undefined);
        if (added.length) {
          // Undo entries nobody else granted meanwhile (harmless if left: readers check the image).
          const current = await deps.images.get(id);
          const orphans = added.filter((a) => !current?.acl.includes(a));
          if (orphans.length) await deps.images.removeAclEntries(id, orphans).catch(() => undefined);
        }
        if (err instanceof StateConflictError && attempt < ATTEMPTS) continue;
        throw err;
      }
      if (removed.length) await deps.images.removeAclEntries(id, removed);
      if (renaming) await deps.images.releaseName(image.owner, image.name, id);
      return updated;
    }
  };
