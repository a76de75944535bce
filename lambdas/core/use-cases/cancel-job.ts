/**
 * CancelJob: stops a build the caller owns and leaves nothing behind.
 *
 * 1. The job INIT|RUNNING → CANCELLED (a conditional write: a build that finished first wins, and the
 *    cancel is a StateConflict; cancelling a cancelled job again is a no-op returning it).
 * 2. The workflow execution is stopped. Step Functions does not stop a task already running, so the
 *    build task notices on its own: its next progress report is refused (the job is no longer
 *    RUNNING), which aborts its multipart upload; and once its upload is complete it re-reads the job
 *    and removes its object if the job was cancelled meanwhile (lambdas/workflow/tasks/build-image-file.ts).
 * 3. The image `creating` → `failed` (reason "cancelled"), and every object and open upload under the
 *    image's prefix is removed. Whichever of (2) and (3) runs last removes the file: no orphan either way.
 */
import type { Principal } from '../account';
import { NotFoundError, StateConflictError } from '../errors';
import type { Job } from '../job';
import type { Clock, ImageFileStore, ImageRepository, JobRepository, WorkflowStopper } from '../ports';

export interface CancelJobDeps {
  jobs: JobRepository;
  images: ImageRepository;
  files: ImageFileStore;
  workflow: WorkflowStopper;
  clock: Clock;
}

export const CANCELLED_CODE = 'Cancelled';

export const cancelJob =
  (deps: CancelJobDeps) =>
  async (caller: Principal, jobId: string): Promise<Job> => {
    const current = await deps.jobs.get(jobId);
    if (!current || current.owner !== caller.accountId) throw new NotFoundError('job not found');
    let job = current;
    if (current.status !== 'CANCELLED') {
      if (current.status !== 'INIT' && current.status !== 'RUNNING') {
        throw new StateConflictError(`job ${jobId} is ${current.status} and can no longer be cancelled`, current.status);
      }
      const now = deps.clock.now().toISOString();
      job = await deps.jobs.update(jobId, { statuses: ['INIT', 'RUNNING'] }, { status: 'CANCELLED', error_code: CANCELLED_CODE, fail_reason: `cancelled by ${caller.login}`, end_time: now });
    }
    // The CANCELLED job is what every build step obeys; stopping the execution only saves its remaining
    // work, so a failure to stop it does not fail the cancel (the task stops at its next job check).
    let stopError: unknown;
    if (job.execution_arn) await deps.workflow.stopBuild(job.execution_arn, `job ${jobId} cancelled by ${caller.login}`).catch((err) => (stopError = err));
    const imageId = job.entities.image_id;
    const image = await deps.images.get(imageId);
    if (image?.state === 'creating') {
      await deps.images.update(imageId, { states: ['creating'] }, { state: 'failed', error: { code: CANCELLED_CODE, message: 'the build was cancelled' } }).catch((err) => {
        if (!(err instanceof StateConflictError)) throw err;
      });
    }
    if (image && image.state !== 'active' && image.state !== 'disabled') await deps.files.removeFiles(imageId);
    if (stopError) throw stopError;
    return job;
  };
