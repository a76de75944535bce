/** POST /{login}/images — CreateImageFromMachine: 201 with the `creating` image, its job id and Location. */
import { createImageFromMachine } from '../../../core/use-cases/create-image-from-machine';
import { httpHandler } from '../../../http/middleware';
import { idempotent } from '../../../http/idempotency';
import { clock, ids, imageRepository, jobRepository, machineRepository, quotaGate, workflowStarter } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { parseCreateImageFromMachine } from '../schemas';
import { serializeImage } from '../serialize';

export const handler = httpHandler(
  { operation: 'CreateImageFromMachine', renderer: tritonRenderer },
  idempotent(async (req) => {
    const command = parseCreateImageFromMachine(req.body);
    const create = createImageFromMachine({
      images: imageRepository(),
      jobs: jobRepository(),
      machines: machineRepository(),
      workflow: workflowStarter(),
      clock,
      ids,
      quotas: quotaGate(),
    });
    const { image, job } = await create(req.caller, command);
    return {
      status: 201,
      body: serializeImage(image, req.caller.accountId),
      headers: { 'x-joyent-jobid': job.id, location: `/${req.params.login}/images/${image.id}` },
    };
  }),
);
