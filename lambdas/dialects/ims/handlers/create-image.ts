/** POST /v2/cloudimages/action — CreateImage (IMS): one of three forms; 200 `{job_id}` at once. */
import { createImsImage } from '../../../core/use-cases/ims-create-image';
import { httpHandler } from '../../../http/middleware';
import { idempotent } from '../../../http/idempotency';
import { clock, ids, imageRepository, jobRepository, machineRepository, quotaGate, workflowStarter } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { parseCreateImage } from '../schemas';

export const handler = httpHandler(
  { operation: 'ImsCreateImage', renderer: imsRenderer },
  idempotent(async (req) => {
    const command = parseCreateImage(req.body);
    const create = createImsImage({
      images: imageRepository(),
      jobs: jobRepository(),
      machines: machineRepository(),
      workflow: workflowStarter(),
      clock,
      ids,
      quotas: quotaGate(),
    });
    const job = await create(req.caller, command);
    return { status: 200, body: { job_id: job.id } };
  }),
);
