/**
 * Job state-change events (docs/decisions/job-events.md): which transition one write of a job is, as
 * seen from the job before and after it. Every write of a job is one DynamoDB stream record; the stream
 * consumer (lambdas/events/job-stream.ts) maps each record through `jobStateChange` and publishes what
 * comes out, so a transition is published once however many code paths can make it.
 *
 * Transitions: `created` (the job appears), `running` (INIT → RUNNING), a progress step (a RUNNING job's
 * progress enters a higher tenth: 9 → 12 is one, 12 → 19 is none, 5 → 35 is one), and the ends
 * `succeeded`, `failed`, `cancelled`. Other writes (the execution ARN, an ETA) are no transition.
 * The schema of the event is docs/events/image-job-state-change.schema.json.
 */
import type { Job, JobStatus } from './job';

export const JOB_EVENT_SOURCE = 'machine-image-service';
export const JOB_EVENT_DETAIL_TYPE = 'Image Job State Change';

export type JobEventStatus = 'created' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobStateChange {
  /** The account that owns the job (its id). */
  account: string;
  job: string;
  /** The image the job makes or acts on. */
  image: string;
  /** What the job does (CreateImageFromMachine, ImportImage, …). */
  type: string;
  status: JobEventStatus;
  /** 0–100 at the time of the change. */
  progress: number;
  /** Why a job failed or was cancelled. */
  error?: { code: string; message: string };
  /** When the change happened (ISO 8601). */
  time: string;
  /** The job's revision after the change: with `job`, a key for consumers to drop a redelivered event. */
  revision: number;
}

const STATUS_EVENT: Record<JobStatus, JobEventStatus | undefined> = {
  INIT: undefined,
  RUNNING: 'running',
  SUCCESS: 'succeeded',
  FAIL: 'failed',
  CANCELLED: 'cancelled',
};

const tenth = (progress: number | undefined): number => Math.floor(Math.max(0, Math.min(100, Number(progress ?? 0))) / 10);

/**
 * The transition from `before` (undefined: the job was just created) to `after`, or undefined when the
 * write is none. `at` is when the write happened, used when the job records no time of its own for it.
 */
export function jobStateChange(before: Job | undefined, after: Job, at: Date): JobStateChange | undefined {
  const base = {
    account: after.owner,
    job: after.id,
    image: after.entities?.image_id ?? '',
    type: after.type,
    progress: Math.max(0, Math.min(100, Number(after.progress ?? 0))),
    revision: Number(after.rev ?? 0),
  };
  const error =
    after.error_code || after.fail_reason ? { error: { code: after.error_code ?? 'Failed', message: after.fail_reason ?? '' } } : {};
  if (!before) return { ...base, status: 'created', time: after.created_at ?? at.toISOString() };
  if (before.status !== after.status) {
    const status = STATUS_EVENT[after.status];
    if (!status) return undefined;
    const time = status === 'running' ? (after.begin_time ?? at.toISOString()) : (after.end_time ?? at.toISOString());
    return { ...base, status, time, ...(status === 'failed' || status === 'cancelled' ? error : {}) };
  }
  if (after.status === 'RUNNING' && tenth(after.progress) > tenth(before.progress)) {
    return { ...base, status: 'running', time: at.toISOString() };
  }
  return undefined;
}
