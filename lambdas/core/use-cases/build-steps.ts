/**
 * The state changes the build workflow makes, as core use cases. Each is idempotent (Step Functions
 * retries tasks): replaying a step that already took effect succeeds without writing again.
 */
import { StateConflictError } from '../errors';
import type { ImageError, ImageFile } from '../image';
import { estimateEnd, type Job } from '../job';
import type { Clock, ImageRepository, JobRepository } from '../ports';

export interface BuildStepDeps {
  images: ImageRepository;
  jobs: JobRepository;
  clock: Clock;
}

/** INIT → RUNNING, once the image is confirmed still `creating`. */
export const beginBuild =
  (deps: BuildStepDeps) =>
  async (jobId: string, imageId: string, phase: string): Promise<Job> => {
    const image = await deps.images.get(imageId);
    if (image?.state !== 'creating')
      throw new StateConflictError(`image ${imageId} is ${image?.state ?? 'gone'}; nothing to build`, image?.state);
    const job = await deps.jobs.get(jobId);
    if (job?.status === 'RUNNING') return job;
    return deps.jobs.update(jobId, { statuses: ['INIT'] }, { status: 'RUNNING', phase, begin_time: deps.clock.now().toISOString() });
  };

/**
 * Whether the build is still wanted: the job RUNNING and the image `creating`. A task that finished
 * writing asks this before handing its result on, since a cancel (cancel-job.ts) or a delete may have
 * landed after its last progress write; if not, it removes what it wrote.
 */
export const isStillBuilding =
  (deps: BuildStepDeps) =>
  async (jobId: string, imageId: string): Promise<boolean> => {
    const [job, image] = await Promise.all([deps.jobs.get(jobId), deps.images.get(imageId)]);
    return job?.status === 'RUNNING' && image?.state === 'creating';
  };

/** Progress is monotonic: a report below the job's current progress changes nothing. Throws StateConflictError once the job is no longer RUNNING. */
export const reportProgress =
  (deps: BuildStepDeps) =>
  async (jobId: string, progress: number, phase: string): Promise<void> => {
    const p = Math.max(0, Math.min(99, Math.floor(progress)));
    const job = await deps.jobs.get(jobId);
    // a job that is no longer RUNNING (failed, cancelled) stops the task that reports on it
    if (job?.status !== 'RUNNING') throw new StateConflictError(`job ${jobId} is ${job?.status ?? 'gone'}; expected RUNNING`, job?.status);
    await deps.jobs.raiseProgress(jobId, { progress: p, phase, ...withEta(job?.begin_time, p, deps.clock.now()) });
  };

const withEta = (beginTime: string | undefined, progress: number, now: Date) => {
  const eta = estimateEnd(beginTime, progress, now);
  return eta ? { eta } : {};
};

/**
 * Work done by one of many concurrent workers (the ranges of a chunked build): `done` is how far
 * worker `unit` got (bytes, cumulative); the job counts each unit's furthest report once (addWork's
 * high-water mark, so a retried range never counts twice), then progress is raised to
 * `from + (to − from) × work_done / total`.
 */
export const reportWork =
  (deps: BuildStepDeps) =>
  async (jobId: string, work: { unit: number; done: number; total: number; from: number; to: number; phase: string }): Promise<void> => {
    if (work.done <= 0) return;
    const job = await deps.jobs.addWork(jobId, { unit: work.unit, done: work.done });
    const done = Math.min(work.total, job.work_done ?? 0);
    const p = Math.floor(work.from + ((work.to - work.from) * done) / Math.max(1, work.total));
    await deps.jobs.raiseProgress(jobId, { progress: Math.min(99, p), phase: work.phase, ...withEta(job.begin_time, p, deps.clock.now()) });
  };

/** creating → active with its file; then the job → SUCCESS at 100 %. */
export const completeBuild =
  (deps: BuildStepDeps) =>
  async (jobId: string, imageId: string, file: ImageFile): Promise<void> => {
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
    await deps.jobs.update(
      jobId,
      { statuses: ['INIT', 'RUNNING'] },
      { status: 'SUCCESS', progress: 100, phase: 'Finalize', end_time: now },
    );
  };

/** creating → failed with the reason; the job → FAIL. Leaves images that already left `creating` alone. */
export const failBuild =
  (deps: BuildStepDeps) =>
  async (jobId: string, imageId: string, error: ImageError): Promise<void> => {
    const now = deps.clock.now().toISOString();
    const image = await deps.images.get(imageId);
    if (image?.state === 'creating') {
      await deps.images.update(imageId, { states: ['creating'] }, { state: 'failed', error }).catch((err) => {
        if (!(err instanceof StateConflictError)) throw err;
      });
    }
    const job = await deps.jobs.get(jobId);
    if (job && (job.status === 'INIT' || job.status === 'RUNNING')) {
      await deps.jobs
        .update(
          jobId,
          { statuses: ['INIT', 'RUNNING'] },
          { status: 'FAIL', error_code: error.code, fail_reason: error.message, end_time: now },
        )
        .catch((err) => {
          if (!(err instanceof StateConflictError)) throw err;
        });
    }
  };

export interface EndFailedBuildDeps extends BuildStepDeps {
  /** Removes every object and open multipart upload under the image's prefix; idempotent. */
  removeImageFiles(imageId: string): Promise<unknown>;
}

/** Image states whose files the build may have left half-written (anything else owns a finished file). */
const UNFINISHED_IMAGE_STATES: readonly string[] = ['creating', 'failed', 'deleted'];

/**
 * THE way a build that ended without finishing is closed, whoever notices it: the workflow's Catch
 * path leaves this to its Cleanup and MarkFailed tasks, the execution-status rule
 * (lambdas/workflow/execution-ended.ts) calls it for executions that failed, timed out or were
 * stopped, and the local stack for builds its last stop interrupted (local/recover.ts).
 * Removes everything under the image's prefix (unless the image finished: its file is then the
 * image's own), then fails the image and the job as `failBuild` does. Idempotent: a build already
 * failed, cancelled or finished is left as it is.
 */
export const endFailedBuild =
  (deps: EndFailedBuildDeps) =>
  async (jobId: string, imageId: string, error: ImageError): Promise<'ended' | 'finished'> => {
    const image = await deps.images.get(imageId);
    if (image && !UNFINISHED_IMAGE_STATES.includes(image.state)) return 'finished';
    await deps.removeImageFiles(imageId);
    await failBuild(deps)(jobId, imageId, error);
    return 'ended';
  };
