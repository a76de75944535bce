/**
 * CloneImage (IMGAPI semantics): an image shared with the caller (its acl holds the caller) or public
 * becomes a new private image owned by the caller — new id, empty acl, same manifest otherwise, and
 * its own copy of the file (so deleting either never breaks the other). The clone is written
 * `creating` first, the file copied, then it becomes `active`; if the copy fails the clone is marked
 * `failed` and whatever was copied is removed.
 *
 * A file at or above `inWorkflow.thresholdBytes` (a copy and its read-back check that can outlast a
 * request) is copied by the build workflow instead (CopyFile, lib/constructs/build-workflow.ts): the
 * clone is answered `creating` with its job (`job_id`, Triton's `x-joyent-jobid`), as image creation
 * is, and the workflow makes it `active` or `failed` (nothing left under its prefix).
 */
import type { Principal } from '../account';
import { InvalidArgumentError, NotFoundError, ServiceError, ServiceUnavailableError, StateConflictError } from '../errors';
import { canSee, type Image } from '../image';
import type { Job } from '../job';
import { failUnstarted } from './start-image-build';
import type { Clock, CopyWorkflowStarter, IdGenerator, ImageFileStore, ImageRepository, JobRepository, QuotaGate } from '../ports';

export const cloneImage =
  (deps: {
    images: ImageRepository;
    files: ImageFileStore;
    clock: Clock;
    ids: IdGenerator;
    quotas?: QuotaGate;
    /** Copies of files this large or larger run in the workflow. */
    inWorkflow?: { thresholdBytes: number; jobs: JobRepository; workflow: CopyWorkflowStarter };
  }) =>
  async (caller: Principal, id: string): Promise<Image> => {
    const source = await deps.images.get(id);
    if (!source || !canSee(source, caller.accountId)) throw new NotFoundError('image not found');
    if (source.owner === caller.accountId)
      throw new InvalidArgumentError(`image ${id} is already yours; only images shared with you or public ones can be cloned`);
    if (source.state !== 'active')
      throw new StateConflictError(`image ${id} is ${source.state}; only active images can be cloned`, source.state);
    const file = source.files[0];
    if (!file) throw new StateConflictError(`image ${id} has no file to clone`, source.state);

    const now = deps.clock.now().toISOString();
    const clone: Image = {
      ...source,
      id: deps.ids.uuid(),
      owner: caller.accountId,
      acl: [],
      public: false,
      state: 'creating',
      files: [],
      created_at: now,
      updated_at: now,
      published_at: undefined,
      error: undefined,
      // the source's machine or file belongs to its owner: a clone is made from the image, not from it
      made_from: undefined,
      job_id: undefined,
      rev: 1,
    };
    const inWorkflow = deps.inWorkflow && file.size >= deps.inWorkflow.thresholdBytes ? deps.inWorkflow : undefined;
    // a clone is `creating` while its file is copied (in the request or in the workflow): it takes a build
    // slot like any creation in flight, so a burst of clones cannot all pass the image count before any is written
    await deps.quotas?.admit(caller.accountId, clone.id, { build: true });
    if (inWorkflow) return cloneInWorkflow(deps, inWorkflow, { ...clone, job_id: deps.ids.uuid() }, source.id, file);
    await deps.images.create(clone);
    try {
      const copied = await deps.files.copyFile(file, clone.id);
      return await deps.images.update(
        clone.id,
        { states: ['creating'] },
        { state: 'active', files: [copied], published_at: deps.clock.now().toISOString() },
      );
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await deps.images
        .update(clone.id, { states: ['creating'] }, { state: 'failed', error: { code: 'CloneFailed', message: reason } })
        .catch(() => undefined);
      await deps.files.removeFiles(clone.id).catch(() => undefined);
      if (err instanceof ServiceError) throw err;
      throw new ServiceUnavailableError(`image ${id} could not be cloned; try again`);
    }
  };

/** Records the clone `creating` and its job INIT, starts the copy; any failure to start leaves the clone `failed`. */
async function cloneInWorkflow(
  deps: { images: ImageRepository; clock: Clock },
  run: { jobs: JobRepository; workflow: CopyWorkflowStarter },
  clone: Image & { job_id: string },
  sourceImageId: string,
  file: Image['files'][number],
): Promise<Image> {
  const job: Job = {
    id: clone.job_id,
    owner: clone.owner,
    type: 'CloneImage',
    status: 'INIT',
    progress: 0,
    entities: { image_id: clone.id, image_name: clone.name },
    created_at: clone.created_at,
    rev: 1,
  };
  await deps.images.create(clone);
  try {
    await run.jobs.create(job);
    const { executionArn } = await run.workflow.startCopy({
      jobId: job.id,
      owner: clone.owner,
      imageId: clone.id,
      copy: { kind: 'clone', sourceImageId, file },
    });
    await run.jobs.update(job.id, { statuses: ['INIT', 'RUNNING', 'SUCCESS', 'FAIL'] }, { execution_arn: executionArn });
    return clone;
  } catch (err) {
    await failUnstarted({ ...deps, jobs: run.jobs }, { imageId: clone.id, jobId: job.id }, 'CloneFailed', 'could not start the copy', err);
    if (err instanceof ServiceError) throw err;
    throw new ServiceUnavailableError(`image ${sourceImageId} could not be cloned; try again`);
  }
}
