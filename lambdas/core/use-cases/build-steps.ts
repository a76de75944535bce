/**
 * The state changes the build workflow makes, as core use cases. Each is idempotent (Step Functions
 * retries tasks): replaying a step that already took effect succeeds without writing again.
 */
import { StateConflictError } from '../errors';
import type { ImageError, ImageFile } from '../image';
import type { Job } from '../job';
import type { Clock, ImageRepository, JobRepository } from '../ports';

export interface BuildStepDeps {
  images: ImageRepository;
  jobs: JobRepository;
  clock: Clock;
}

/** INIT → RUNNING, once the image is confirmed still `creating`. */
export const beginBuild = (deps: BuildStepDeps) => async (jobId: string, imageId: string, phase: string): Promise<Job> => {
  const image = await deps.images.get(imageId);
  if (!image || image.state !== 'creating') throw new StateConflictError(`image ${imageId} is ${image?.state ?? 'gone'}; nothing to build`, image?.state);
  const job = await deps.jobs.get(jobId);
  if (job?.status === 'RUNNING') return job;
  return deps.jobs.update(jobId, { statuses: ['INIT'] }, { status: 'RUNNING', phase, begin_time: deps.clock.now().toISOString() });
};

export const reportProgress = (deps: BuildStepDeps) => async (jobId: string, progress: number, phase: string): Promise<void> => {
  await deps.jobs.update(jobId, { statuses: ['RUNNING'] }, { progress: Math.max(0, Math.min(99, Math.floor(progress))), phase });
};

/** Whether the job was cancelled (lambdas/core/use-cases/cancel-job.ts): a build that sees it removes what it wrote. */
export const isCancelled = (deps: BuildStepDeps) => async (jobId: string): Promise<boolean> => (await deps.jobs.get(jobId))?.status === 'CANCELLED';

/** creating → active with its file; then the job → SUCCESS at 100 %. */
export const completeBuild = (deps: BuildStepDeps) => async (jobId: string, imageId: string, file: ImageFile): Promise<void> => {
  const now = deps.clock.now().toISOString();
  try {
    await deps.images.update(imageId, { states: ['creating'] }, { state: 'active', files: [file], published_at: now });
  } catch (err) {
    const current = await deps.images.get(imageId);
    const sameFile = current?.state === 'active' && current.files[0]?.sha256 === file.sha256;
    if (!sameFile) throw err;
  }
  const job = await deps.jobs.get(jobId);
  if (job?.status === 'SUCCESS') return;
  await deps.jobs.update(jobId, { statuses: ['INIT', 'RUNNING'] }, { status: 'SUCCESS', progress: 100, phase: 'Finalize', end_time: now });
};

/** creating → failed with the reason; the job → FAIL. Leaves images that already left `creating` alone. */
export const failBuild = (deps: BuildStepDeps) => async (jobId: string, imageId: string, error: ImageError): Promise<void> => {
  const now = deps.clock.now().toISOString();
  const image = await deps.images.get(imageId);
  if (image?.state === 'creating') {
    await deps.images.update(imageId, { states: ['creating'] }, { state: 'failed', error }).catch((err) => {
      if (!(err instanceof StateConflictError)) throw err;
    });
  }
  const job = await deps.jobs.get(jobId);
  if (job && (job.status === 'INIT' || job.status === 'RUNNING')) {
    await deps.jobs.update(jobId, { statuses: ['INIT', 'RUNNING'] }, { status: 'FAIL', error_code: error.code, fail_reason: error.message, end_time: now }).catch((err) => {
      if (!(err instanceof StateConflictError)) throw err;
    });
  }
};
