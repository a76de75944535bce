/** GET /{login}/jobs/{id} — the job behind an asynchronous operation: status, progress, entities, times. */
import { NotFoundError } from '../../../core/errors';
import { getJob } from '../../../core/use-cases/get-job';
import { httpHandler } from '../../../http/middleware';
import { jobRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';
import { serializeJob } from '../serialize';

export const handler = httpHandler({ operation: 'GetJob', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('job not found');
  const job = await getJob({ jobs: jobRepository() })(req.caller, req.params.id);
  return { status: 200, body: serializeJob(job) };
});
