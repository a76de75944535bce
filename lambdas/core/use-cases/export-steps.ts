/**
 * The state changes of an export the build workflow runs (IMS export of a large file; CopyFile in
 * lib/constructs/build-workflow.ts). An export changes its job only — the exported image is never
 * touched. Each step is a conditional write and idempotent (Step Functions retries tasks, and the
 * execution-status rule may end an export its Catch path already ended).
 */
import { StateConflictError } from '../errors';
import type { ImageError } from '../image';
import type { Job } from '../job';
import type { Clock, JobRepository } from '../ports';

export interface ExportStepDeps {
  jobs: JobRepository;
  clock: Clock;
}

/** INIT → RUNNING; a job already RUNNING is taken as it is (a retried task). Anything else: StateConflictError. */
export const beginExport =
  (deps: ExportStepDeps) =>
  async (jobId: string, phase: string): Promise<Job> => {
    const job = await deps.jobs.get(jobId);
    if (job?.status === 'RUNNING') return job;
    return deps.jobs.update(jobId, { statuses: ['INIT'] }, { status: 'RUNNING', phase, begin_time: deps.clock.now().toISOString() });
  };

/** Whether the export is still wanted (its job RUNNING, not cancelled or failed meanwhile). */
export const isStillExporting =
  (deps: ExportStepDeps) =>
  async (jobId: string): Promise<boolean> =>
    (await deps.jobs.get(jobId))?.status === 'RUNNING';

/** RUNNING → SUCCESS at 100 %; a job already SUCCESS is left as it is. */
export const completeExport =
  (deps: ExportStepDeps) =>
  async (jobId: string): Promise<void> => {
    const job = await deps.jobs.get(jobId);
    if (job?.status === 'SUCCESS') return;
    await deps.jobs.update(
      jobId,
      { statuses: ['RUNNING'] },
      { status: 'SUCCESS', progress: 100, phase: 'Finalize', end_time: deps.clock.now().toISOString() },
    );
  };

/** INIT|RUNNING → FAIL with the reason; a job that already ended (cancelled, failed, finished) is left as it is. */
export const failExport =
  (deps: ExportStepDeps) =>
  async (jobId: string, error: ImageError): Promise<void> => {
    const job = await deps.jobs.get(jobId);
    if (!job || (job.status !== 'INIT' && job.status !== 'RUNNING')) return;
    await deps.jobs
      .update(
        jobId,
        { statuses: ['INIT', 'RUNNING'] },
        { status: 'FAIL', error_code: error.code, fail_reason: error.message, end_time: deps.clock.now().toISOString() },
      )
      .catch((err) => {
        if (!(err instanceof StateConflictError)) throw err;
      });
  };
