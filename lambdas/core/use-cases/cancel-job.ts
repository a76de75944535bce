/**
 * Cancel: the one place that stops a job's work (docs/decisions/cancel.md). Dialects call
 * `cancelJob(caller, jobId)` (Triton `POST /{login}/jobs/{id}?action=cancel`, UForge's cancel route);
 * DeleteImage of a `creating` image calls `cancelBuildOfDeletedImage`.
 *
 * The order makes every intermediate state safe without transactions, each step a conditional write:
 *  1. the image `creating` → `failed` with `error.code = "Cancelled"` (a Finalize that already made it
 *     `active` wins: the job is finishing, and cancelling answers InvalidState);
 *  2. the job INIT|RUNNING → CANCELLED (a job that ended meanwhile wins: InvalidState);
 *  3. StopExecution, so no further task starts. It is best effort: even when the engine cannot be
 *     reached, the running task's next progress write (a conditional write on RUNNING) fails, so it
 *     stops writing and aborts its upload, and every later step finds the image no longer `creating`;
 *  4. the image's objects and open uploads are removed (ImageFileStore.removeFiles). A task still
 *     finishing its last part cannot leave anything either: it re-checks the job after its upload
 *     completes and removes what it wrote (lambdas/workflow/tasks/build-image-file.ts).
 */
import type { Principal } from '../account';
import { NotFoundError, StateConflictError } from '../errors';
import type { Image, ImageError } from '../image';
import { isTerminal, type Job } from '../job';
import type { Clock, ImageFileStore, ImageRepository, JobRepository, WorkflowStopper } from '../ports';

export interface CancelDeps {
  jobs: JobRepository;
  images: ImageRepository;
  files: ImageFileStore;
  workflow: WorkflowStopper;
  clock: Clock;
}

export const CANCELLED: ImageError = { code: 'Cancelled', message: 'the build was cancelled by the owner' };

const jobCancelled =
  (deps: CancelDeps) =>
  async (job: Job, reason: string): Promise<Job> =>
    deps.jobs.update(
      job.id,
      { statuses: ['INIT', 'RUNNING'] },
      { status: 'CANCELLED', error_code: CANCELLED.code, fail_reason: reason, end_time: deps.clock.now().toISOString() },
    );

const stopExecution =
  (deps: CancelDeps) =>
  async (job: Job, cause: string): Promise<void> => {
    if (!job.execution_arn) return;
    // Best effort (see above): the conditional writes already stopped the work.
    await deps.workflow.stop(job.execution_arn, { error: 'Cancelled', cause }).catch(() => undefined);
  };

/** Cancels the caller's INIT or RUNNING job; answers the job, now CANCELLED. A finished job is a StateConflict. */
export const cancelJob =
  (deps: CancelDeps) =>
  async (caller: Principal, jobId: string): Promise<Job> => {
    const job = await deps.jobs.get(jobId);
    if (!job || job.owner !== caller.accountId) throw new NotFoundError('job not found');
    const finished = () => new StateConflictError(`job ${jobId} is ${job.status}; only INIT or RUNNING jobs can be cancelled`, job.status);
    if (isTerminal(job.status)) throw finished();

    const imageId = job.entities.image_id;
    const builds = job.type !== 'ExportImage';
    if (builds) {
      await deps.images.update(imageId, { states: ['creating'] }, { state: 'failed', error: CANCELLED }).catch(async (err) => {
        if (!(err instanceof StateConflictError || err instanceof NotFoundError)) throw err;
        // deleted meanwhile: nothing to fail, the job is still cancelled; anything else: the build ended first
        const image = await deps.images.get(imageId);
        if (image && image.state !== 'deleted')
          throw new StateConflictError(
            `job ${jobId} is finishing (image ${imageId} is ${image.state}); it can no longer be cancelled`,
            job.status,
          );
      });
    }
    const cancelled = await jobCancelled(deps)(job, CANCELLED.message).catch(async (err) => {
      if (!(err instanceof StateConflictError)) throw err;
      const now = await deps.jobs.get(jobId);
      throw new StateConflictError(`job ${jobId} is ${now?.status ?? 'gone'}; only INIT or RUNNING jobs can be cancelled`, now?.status);
    });
    await stopExecution(deps)(cancelled, `job ${jobId} was cancelled by its owner`);
    if (builds) await deps.files.removeFiles(imageId);
    return cancelled;
  };

/**
 * After DeleteImage made a `creating` image a tombstone: its build job (if still INIT/RUNNING) is
 * CANCELLED and its execution stopped. The caller then removes the image's objects as for any delete.
 */
export const cancelBuildOfDeletedImage =
  (deps: Omit<CancelDeps, 'images' | 'files'>) =>
  async (image: Pick<Image, 'id' | 'job_id'>): Promise<void> => {
    if (!image.job_id) return;
    const job = await deps.jobs.get(image.job_id);
    if (!job || isTerminal(job.status)) return;
    const cancelled = await jobCancelled(deps as CancelDeps)(job, `image ${image.id} was deleted while it was being built`).catch((err) => {
      if (err instanceof StateConflictError) return undefined; // it ended meanwhile
      throw err;
    });
    if (cancelled) await stopExecution(deps as CancelDeps)(cancelled, `image ${image.id} was deleted`);
  };
