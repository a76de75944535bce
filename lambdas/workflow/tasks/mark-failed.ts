/**
 * MarkFailed (end of the Catch path): the image becomes `failed` with a reason a user can act on,
 * and the job FAIL with the same code and reason. A transient DynamoDB error (throttling, a 5xx, the
 * network) that outlasts the SDK's retries is thrown as TransientStorageError, which the state
 * machine's Retry tries again; should MarkFailed still fail for good, the execution fails, and the
 * execution-status rule (lambdas/workflow/execution-ended.ts) ends the build instead. A failed export
 * (lambdas/workflow/copy.ts) fails its job only.
 */
import { steps } from '../deps';
import { exportSteps, isExportState, type CopyState } from '../copy';
import { classifyDynamoError } from '../dynamo-errors';
import type { BuildState, CaughtError } from '../state';
import { countMetric, logger } from '../../observability/powertools';
import { workflowTask } from '../attempt';
import { isTerminal } from '../../core/job';
import { jobRepository } from '../../wiring';

/** Step Functions' Cause is Lambda's JSON error document, or plain text from other sources. */
export function describeFailure(error: CaughtError | undefined): { code: string; message: string } {
  if (!error) return { code: 'InternalError', message: 'the build failed for an unknown reason' };
  let message = error.Cause ?? '';
  try {
    const cause = JSON.parse(message) as { errorMessage?: string };
    if (cause && typeof cause.errorMessage === 'string') message = cause.errorMessage;
  } catch {
    // plain-text cause
  }
  const code = error.Error === 'States.Timeout' ? 'Timeout' : error.Error || 'InternalError';
  return { code, message: message || error.Error || 'the build failed' };
}

export const handler = workflowTask(
  'MarkFailed',
  async (state: (BuildState & { cleanupError?: CaughtError }) | CopyState): Promise<{ ok: true }> => {
    const failure = describeFailure(state.error);
    if (state.cleanupError) failure.message += ' (removing its partial files also failed; see the execution history)';
    if (isExportState(state)) {
      try {
        await exportSteps.fail(state.jobId, failure);
      } catch (err) {
        throw classifyDynamoError(err, `marking export job ${state.jobId} failed`);
      }
      return { ok: true };
    }
    const { imageId } = state as BuildState;
    try {
      const before = await jobRepository().get(state.jobId);
      await steps.fail(state.jobId, imageId, failure);
      // counted by the invocation that failed it, not by a retry (nor for a cancelled job)
      if (before && !isTerminal(before.status)) countMetric('ImagesFailed');
    } catch (err) {
      throw classifyDynamoError(err, `marking image ${imageId} failed`);
    }
    logger.info('build failed', { error_code: failure.code, reason: failure.message });
    return { ok: true };
  },
);
