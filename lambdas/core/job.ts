/**
 * The Job: one per asynchronous operation (IMS-style). Status moves INIT → RUNNING → SUCCESS | FAIL
 * (or CANCELLED); progress is 0–100. Repositories apply changes as conditional writes on status.
 */
import { StateConflictError } from './errors';

export type JobStatus = 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL' | 'CANCELLED';
export type JobType = 'CreateImageFromMachine' | 'CreateImageFromVolume' | 'ImportImage' | 'ExportImage' | 'UpdateMemberStatus';

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
  rev: number;
}

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  INIT: ['RUNNING', 'FAIL', 'CANCELLED', 'SUCCESS'],
  RUNNING: ['RUNNING', 'SUCCESS', 'FAIL', 'CANCELLED'],
  SUCCESS: [],
  FAIL: [],
  CANCELLED: [],
};

export const isTerminal = (s: JobStatus): boolean => NEXT[s].length === 0;

export const jobStatusesLeadingTo = (to: JobStatus): JobStatus[] =>
  (Object.keys(NEXT) as JobStatus[]).filter((s) => NEXT[s].includes(to));

export function assertJobTransition(job: Pick<Job, 'id' | 'status'>, to: JobStatus): void {
  if (!NEXT[job.status].includes(to)) {
    throw new StateConflictError(`job ${job.id} is ${job.status} and cannot become ${to}`, job.status);
  }
}
