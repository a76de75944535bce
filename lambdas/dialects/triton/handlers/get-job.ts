/** GET /{login}/jobs/{id}[?wait=N] — the job behind an asynchronous operation: status, progress, entities, times; long-polls with `wait` (long-poll.ts). */
import { NotFoundError } from '../../../core/errors';
import { getJob } from '../../../core/use-cases/get-job';
import { httpHandler } from '../../../http/middleware';
import { jobRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';
import { serializeJob } from '../serialize';
import { etagOf, readWaiting } from '../long-poll';

export const handler = httpHandler({ operation: 'GetJob', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('job not found');
  const job = await readWaiting(req, () => getJob({ jobs: jobRepository() })(req.caller, req.params.id));
  return { status: 200, body: serializeJob(job), headers: { etag: etagOf(job.rev) } };
});
