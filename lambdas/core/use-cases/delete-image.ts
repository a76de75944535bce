/**
 * DeleteImage: owner only. The image first becomes a `deleted` tombstone (a conditional write on its
 * state and rev, so it disappears from every read at once), then its acl entries and its objects are
 * removed and its name released (a tombstone's name is free: see claimName). Each image owns the
 * objects under its own prefix (clones copy the file), so removing them never breaks another image.
 * Deleting a `creating` image cancels its build (cancel-job.ts): the job ends CANCELLED and its
 * execution is stopped before the objects are removed.
 */
import type { Principal } from '../account';
import { statesLeadingTo } from '../image';
import type { Clock, ImageFileStore, ImageRepository, JobRepository, WorkflowStopper } from '../ports';
import { cancelBuildOfDeletedImage } from './cancel-job';
import { ownedImage } from './image-owner';

export const deleteImage =
  (deps: { images: ImageRepository; files: ImageFileStore; jobs: JobRepository; workflow: WorkflowStopper; clock: Clock }) =>
  async (caller: Principal, id: string): Promise<void> => {
    const image = await ownedImage(deps.images, caller, id, 'delete');
    await deps.images.update(
      id,
      { states: statesLeadingTo('deleted'), rev: image.rev },
      { state: 'deleted', updated_at: deps.clock.now().toISOString() },
    );
    if (image.state === 'creating') await cancelBuildOfDeletedImage(deps)(image);
    await deps.images.removeAclEntries(id, 'all');
    await deps.images.releaseName(image.owner, image.name, id);
    await deps.files.removeFiles(id);
  };
