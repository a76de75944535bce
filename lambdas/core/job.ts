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
  /** Failed attempts and retries of its workflow's steps, oldest first, the last JOB_HISTORY_LIMIT (docs/decisions/retry-history.md). */
  history?: JobHistoryEntry[];
  rev: number;
}

/**
 * One event of a job's workflow that its status does not show (docs/decisions/retry-history.md):
 * - `failed`: an attempt of a step failed with an error the step's Retry may retry (`error`);
 * - `retried`: a retry of a step began (`attempt` ≥ 1).
 */
export interface JobHistoryEntry {
  /** When it was recorded (ISO 8601). */
  at: string;
  event: 'failed' | 'retried';
  /** The workflow step: its Task state name. */
  step: string;
  /** 0 for a step's first attempt, then the retry's number (Step Functions' `$$.State.RetryCount`). */
  attempt: number;
  /** The range of a chunked build the step works on (BuildRange). */
  range?: number;
  error?: { code: string; message: string };
  /** The same event recorded again (a replayed invocation) has the same id: recorded once. */
  id: string;
}

/** A history entry as the API shows it (Triton GetJob `history`, IMS ShowJob `entities.history`): without its id. */
export function publicJobHistory(job: Pick<Job, 'history'>): Omit<JobHistoryEntry, 'id'>[] {
  return (job.history ?? []).map(({ id: _id, ...entry }) => entry);
}

/** A job keeps its last 50 history entries. */
export const JOB_HISTORY_LIMIT = 50;
/** A history message is cut to this many characters (the job item stays small). */
export const JOB_HISTORY_MESSAGE_CHARS = 500;

/**
 * The history with `entry` appended (the oldest dropped beyond JOB_HISTORY_LIMIT), or undefined when
 * an entry with its id is already there.
 */
export function appendJobHistory(history: readonly JobHistoryEntry[] | undefined, entry: JobHistoryEntry): JobHistoryEntry[] | undefined {
  const past = history ?? [];
  if (past.some((e) => e.id === entry.id)) return undefined;
  const error = entry.error && { code: entry.error.code, message: entry.error.message.slice(0, JOB_HISTORY_MESSAGE_CHARS) };
  return [...past, { ...entry, ...(error && { error }) }].slice(-JOB_HISTORY_LIMIT);
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
