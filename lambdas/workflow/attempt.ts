/**
 * Build workflow tasks as Lambda handlers that know which attempt they are, and leave the retries of
 * their step in the job's history (docs/decisions/retry-history.md).
 *
 * The build workflow (lib/constructs/build-workflow.ts) invokes every task with `TASK_PAYLOAD_FIELDS`:
 *   { state: <the whole state document>, attempt: { retryCount: $$.State.RetryCount, enteredTime: $$.State.EnteredTime } }
 * `workflowTask` unwraps it, so each task still receives the state document alone, and:
 * - before a retry (retryCount ≥ 1) appends `retried` {step, attempt} to the job's history;
 * - when an attempt fails with an error the step's Retry retries (RETRYABLE_ERRORS), appends `failed`
 *   {step, attempt, error{code, message}} before Step Functions sees the error. That is how a retry's
 *   entry comes with the error of the attempt before it: Step Functions gives a retry nothing of it.
 * Both writes are best effort: a job that has ended takes no entry, and a write that fails (the table
 * may be what is failing) is logged, never turned into the task's failure; the build's outcome never
 * depends on its history. Each entry's id names the step, its entry time (a loop enters a step again),
 * the range of a chunked build and the attempt, so an invocation replayed records nothing twice.
 * A plain state document (not the envelope: a unit test, a task run by hand) runs as a first attempt.
 */
import type { Context } from 'aws-lambda';
import type { JobHistoryEntry } from '../core/job';
import { StateConflictError } from '../core/errors';
import { clock, jobRepository } from '../wiring';
import { correlationIdOfInput, idsOf, logger, observedTask } from '../observability/powertools';
import { RETRYABLE_ERRORS } from './errors';

/** Which attempt of its step an invocation is: Step Functions' `$$.State`. */
export interface TaskAttempt {
  /** 0 on the first attempt, n on the n-th retry. */
  retryCount: number;
  /** When the step was entered (ISO 8601): the same for all its attempts, new when a loop enters it again. */
  enteredTime: string;
}

export interface TaskEnvelope<S> {
  state: S;
  attempt: TaskAttempt;
}

/** The payload's fields and the context paths they are read from (the construct writes them in JSONPath). */
export const TASK_PAYLOAD_FIELDS = {
  state: '$',
  attempt: { retryCount: '$$.State.RetryCount', enteredTime: '$$.State.EnteredTime' },
} as const;

const FIRST_ATTEMPT: TaskAttempt = { retryCount: 0, enteredTime: '' };

export function isTaskEnvelope(event: unknown): event is TaskEnvelope<unknown> {
  if (typeof event !== 'object' || event === null || !('state' in event) || !('attempt' in event)) return false;
  const attempt = (event as { attempt: unknown }).attempt as Partial<TaskAttempt> | null;
  return typeof attempt?.retryCount === 'number' && Number.isInteger(attempt.retryCount) && attempt.retryCount >= 0;
}

export function unwrapTask<S>(event: TaskEnvelope<S> | S): { state: S; attempt: TaskAttempt } {
  if (!isTaskEnvelope(event)) return { state: event as S, attempt: FIRST_ATTEMPT };
  return {
    state: event.state as S,
    attempt: { retryCount: event.attempt.retryCount, enteredTime: String(event.attempt.enteredTime ?? '') },
  };
}

const RETRYABLE: ReadonlySet<string> = new Set(RETRYABLE_ERRORS);

/** The range of a chunked build a task works on (BuildRange's `index`). */
function rangeOf(state: unknown): number | undefined {
  const index = (state as { index?: unknown } | null)?.index;
  return typeof index === 'number' && Number.isInteger(index) ? index : undefined;
}

function jobIdOf(state: unknown): string | undefined {
  const id = (state as { jobId?: unknown } | null)?.jobId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

async function record(jobId: string, entry: JobHistoryEntry): Promise<void> {
  try {
    await jobRepository().recordHistory(jobId, entry);
  } catch (err) {
    if (err instanceof StateConflictError) return; // the job has ended: its history is closed
    logger.warn('job history not recorded', {
      history_event: entry.event,
      step: entry.step,
      attempt: entry.attempt,
      error_name: (err as Error)?.name,
      error_message: (err as Error)?.message,
    });
  }
}

function entry(
  event: JobHistoryEntry['event'],
  step: string,
  attempt: TaskAttempt,
  state: unknown,
  error?: { code: string; message: string },
): JobHistoryEntry {
  const range = rangeOf(state);
  return {
    at: clock.now().toISOString(),
    event,
    step,
    attempt: attempt.retryCount,
    ...(range !== undefined && { range }),
    ...(error && { error }),
    id: [event, step, attempt.enteredTime, range ?? '', attempt.retryCount].join('|'),
  };
}

/** A build workflow task: `run` gets the state document; its retries go into the job's history. */
export function workflowTask<S, R>(name: string, run: (state: S, context: Context) => Promise<R>) {
  return observedTask<TaskEnvelope<S> | S, R>(
    name,
    async (event, context) => {
      const { state, attempt } = unwrapTask(event);
      const jobId = jobIdOf(state);
      if (jobId && attempt.retryCount > 0) await record(jobId, entry('retried', name, attempt, state));
      try {
        return await run(state, context);
      } catch (err) {
        const e = err as Error;
        if (jobId && RETRYABLE.has(e?.name)) {
          await record(jobId, entry('failed', name, attempt, state, { code: e.name, message: e.message ?? '' }));
        }
        throw err;
      }
    },
    {
      correlationId: (event) => correlationIdOfInput(unwrapTask(event).state),
      keys: (event) => {
        const { state, attempt } = unwrapTask(event);
        return { ...idsOf(state), retry_count: attempt.retryCount };
      },
    },
  );
}
