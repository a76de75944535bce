/**
 * GET /v1/{project_id}/jobs/{job_id} — ShowJob (IMS). The project is the caller's account: another
 * project id is refused as the IMS gateway does (403), an unknown job is 404.
 */
import { NotAuthorizedError } from '../../../core/errors';
import { getJobFamily } from '../../../core/use-cases/ims-jobs';
import { httpHandler } from '../../../http/middleware';
import { jobRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { serializeJob } from '../serialize';

export const handler = httpHandler({ operation: 'ImsShowJob', renderer: imsRenderer }, async (req) => {
  if (req.params.project_id !== req.caller.accountId)
    throw new NotAuthorizedError(`project ${req.params.project_id} is not the caller's project`);
  const family = await getJobFamily({ jobs: jobRepository() })(req.caller, req.params.job_id);
  return { status: 200, body: serializeJob(family) };
});
