/**
 * POST /{login}/machines — CreateMachine from an image and a package; 201 at once with the machine
 * `provisioning` and Location, as CloudAPI; the provisioning workflow makes it `running` or `failed`.
 */
import { createMachine } from '../../../core/use-cases/machine-lifecycle';
import { httpHandler } from '../../../http/middleware';
import { idempotent } from '../../../http/idempotency';
import { clock, ids, imageRepository, machineRepository, provisionStarter, quotaGate } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { createMachineBody, parseWith } from '../schemas';
import { serializeMachine } from '../serialize';

export const handler = httpHandler(
  { operation: 'CreateMachine', renderer: tritonRenderer },
  idempotent(async (req) => {
    const { image, package: pkg, name } = parseWith(createMachineBody, req.body);
    const machine = await createMachine({
      machines: machineRepository(),
      images: imageRepository(),
      workflow: provisionStarter(),
      clock,
      ids,
      quotas: quotaGate(),
    })(req.caller, {
      image,
      package: pkg,
      ...(name !== undefined && { name }),
    });
    return { status: 201, body: serializeMachine(machine), headers: { location: `/${req.params.login}/machines/${machine.id}` } };
  }),
);
