/** GET /v1/cloudimages/job/{job_id} — ShowJobProgress (IMS): the job with process_percent and current_task. */
import { getJobFamily } from '../../../core/use-cases/ims-jobs';
import { httpHandler } from '../../../http/middleware';
import { jobRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { serializeJobProgress } from '../serialize';

export const handler = httpHandler({ operation: 'ImsShowJobProgress', renderer: imsRenderer }, async (req) => {
  const family = await getJobFamily({ jobs: jobRepository() })(req.caller, req.params.job_id);
  return { status: 200, body: serializeJobProgress(family) };
});
