/**
 * Sharing with consent (docs/decisions/sharing-consent.md): the owner's acl offers an image; the
 * sharee answers. Until it accepts, the share is `pending`: reachable by id, but neither listed nor
 * resolvable by name, so nobody can plant an image under a name another account uses. The sharee may
 * accept, reject, or change its mind; only a sharee (an account on the image's acl, not the owner)
 * may answer, and anyone else is told the image does not exist.
 */
import type { Principal } from '../account';
import { NotFoundError, ServiceError } from '../errors';
import { canSee, type Image, type MemberStatus } from '../image';
import type { Job } from '../job';
import type { Clock, IdGenerator, ImageRepository, JobRepository } from '../ports';

export const answerShare =
  (deps: { images: ImageRepository }) =>
  async (caller: Principal, imageId: string, status: Exclude<MemberStatus, 'pending'>): Promise<Image> => {
    const image = await deps.images.get(imageId);
    if (!image || !canSee(image, caller.accountId) || image.owner === caller.accountId || !image.acl.includes(caller.accountId)) {
      throw new NotFoundError('image not found');
    }
    // An image created with an acl has no entry yet: write it (pending; idempotent), then answer.
    await deps.images.addAclEntries(imageId, [caller.accountId]);
    await deps.images.setMemberStatus(imageId, caller.accountId, status);
    return image;
  };

/**
 * IMS's batch answer (`PUT /v1/cloudimages/members`): each image answered in turn, recorded as one
 * job finished before the reply (SUCCESS, or FAIL naming the images that could not be answered).
 */
export const answerShares =
  (deps: { images: ImageRepository; jobs: JobRepository; clock: Clock; ids: IdGenerator }) =>
  async (caller: Principal, imageIds: string[], status: Exclude<MemberStatus, 'pending'>): Promise<Job> => {
    const failed: string[] = [];
    for (const id of new Set(imageIds)) {
      await answerShare(deps)(caller, id, status).catch((err) => {
        if (!(err instanceof ServiceError)) throw err;
        failed.push(id);
      });
    }
    const now = deps.clock.now().toISOString();
    const job: Job = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      type: 'UpdateMemberStatus',
      status: failed.length ? 'FAIL' : 'SUCCESS',
      progress: 100,
      entities: { image_id: imageIds[0], image_ids: imageIds },
      created_at: now,
      begin_time: now,
      end_time: now,
      ...(failed.length && { error_code: 'ResourceNotFound', fail_reason: `no image shared with you: ${failed.join(', ')}` }),
      rev: 1,
    };
    await deps.jobs.create(job);
    return job;
  };
