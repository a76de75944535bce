/**
 * The Job: one per asynchronous operation (IMS-style). Status moves INIT → RUNNING → SUCCESS | FAIL
 * (or CANCELLED); progress is 0–100. Repositories apply changes as conditional writes on status.
 */
import { StateConflictError } from './errors';

export type JobStatus = 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL' | 'CANCELLED';
export type JobType =
  | 'CreateImageFromMachine'
  | 'CreateImageFromVolume'
  | 'ImportImage'
  | 'ExportImage'
  | 'UpdateMemberStatus'
  | 'CloneImage';

export interface Job {
  id: string;
  owner: string;
  type: JobType;
  status: JobStatus;
  progress: number;
  /** The workflow phase the job is in (state name), for humans. */
  phase?: string;
  entities: {
    image_id: string;
    image_name?: string;
    machine_id?: string;
    volume_id?: string;
    /** Jobs started together with this one (IMS data-disk images), read back as `sub_jobs_result`. */
    sub_job_ids?: string[];
    /** Every image a batch operation named (IMS member status answers). */
    image_ids?: string[];
    /** Where an export wrote its file (the caller's "bucket:key"). */
    destination?: string;
  };
  created_at: string;
  begin_time?: string;
  end_time?: string;
  error_code?: string;
  fail_reason?: string;
  execution_arn?: string;
  /** The correlation id of the request that started the job (lambdas/observability/correlation.ts). */
  correlation_id?: string;
  /** Source bytes built so far by the ranges of a chunked build (an atomic counter; see addWork). */
  work_done?: number;
  /** When the job is expected to end (ISO 8601), from its measured rate of progress; absent until measurable. */
  eta?: string;
  rev: number;
}

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  INIT: ['RUNNING', 'FAIL', 'CANCELLED', 'SUCCESS'],
  RUNNING: ['RUNNING', 'SUCCESS', 'FAIL', 'CANCELLED'],
  SUCCESS: [],
  FAIL: [],
  CANCELLED: [],
};

/**
 * The expected end of a job at `progress` (0–100), extrapolating the rate measured since it began:
 * elapsed × (100 − progress) / progress. Undefined before any progress or without a begin time.
 */
export function estimateEnd(beginTime: string | undefined, progress: number, now: Date): string | undefined {
  if (!beginTime || progress <= 0) return undefined;
  const elapsed = now.getTime() - Date.parse(beginTime);
  if (!(elapsed >= 0)) return undefined;
  return new Date(now.getTime() + Math.round((elapsed * (100 - Math.min(100, progress))) / progress)).toISOString();
}

export const isTerminal = (s: JobStatus): boolean => NEXT[s].length === 0;

export const jobStatusesLeadingTo = (to: JobStatus): JobStatus[] => (Object.keys(NEXT) as JobStatus[]).filter((s) => NEXT[s].includes(to));

export function assertJobTransition(job: Pick<Job, 'id' | 'status'>, to: JobStatus): void {
  if (!NEXT[job.status].includes(to)) {
    throw new StateConflictError(`job ${job.id} is ${job.status} and cannot become ${to}`, job.status);
  }
}
