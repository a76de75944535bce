/**
 * POST /{login}/jobs/{id} — job actions (our extension of CloudAPI, which has no jobs route): the
 * action comes from the query or the JSON body, as for images. `cancel` stops the job's work and
 * answers the job, now CANCELLED (lambdas/core/use-cases/cancel-job.ts); a finished job is
 * 409 InvalidState. No action → 409 MissingParameter; an unknown one → 409 InvalidArgument.
 */
import { InvalidArgumentError, MissingParameterError, NotFoundError } from '../../../core/errors';
import { cancelJob } from '../../../core/use-cases/cancel-job';
import { httpHandler } from '../../../http/middleware';
import { clock, imageFileStore, imageRepository, jobRepository, workflowStopper } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';
import { serializeJob } from '../serialize';

export const handler = httpHandler({ operation: 'JobAction', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('job not found');
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : undefined;
  const action = req.query.action ?? (typeof body?.action === 'string' ? body.action : undefined);
  if (action === undefined || action === '')
    throw new MissingParameterError('action is required', [{ field: 'action', code: 'MissingParameter', message: 'is required' }]);
  if (action !== 'cancel')
    throw new InvalidArgumentError(`${action} is not a supported action (cancel)`, [
      { field: 'action', code: 'Invalid', message: 'unknown action' },
    ]);
  const job = await cancelJob({
    jobs: jobRepository(),
    images: imageRepository(),
    files: imageFileStore(),
    workflow: workflowStopper(),
    clock,
  })(req.caller, req.params.id);
  return { status: 200, body: serializeJob(job) };
});
