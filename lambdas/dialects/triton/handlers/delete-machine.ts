/** DELETE /{login}/machines/{id} — DeleteMachine: 204; the machine's disk objects go with it. */
import { NotFoundError } from '../../../core/errors';
import { deleteMachine } from '../../../core/use-cases/machine-lifecycle';
import { httpHandler } from '../../../http/middleware';
import { clock, diskProvisioner, machineRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';

export const handler = httpHandler({ operation: 'DeleteMachine', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('machine not found');
  await deleteMachine({ machines: machineRepository(), disks: diskProvisioner(), clock })(req.caller, req.params.id);
  return { status: 204 };
});
