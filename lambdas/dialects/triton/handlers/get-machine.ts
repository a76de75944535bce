/** GET /{login}/machines/{id} — GetMachine (410 Gone once deleted, as CloudAPI). */
import { NotFoundError } from '../../../core/errors';
import { getMachine } from '../../../core/use-cases/machines';
import { httpHandler } from '../../../http/middleware';
import { machineRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';
import { serializeMachine } from '../serialize';

export const handler = httpHandler({ operation: 'GetMachine', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('machine not found');
  const machine = await getMachine({ machines: machineRepository() })(req.caller, req.params.id, { includeDeleted: true });
  // CloudAPI answers a deleted machine of the caller's with 410 Gone and its last state (the CLI's
  // `instance delete -w` waits for exactly that).
  return { status: machine.state === 'deleted' ? 410 : 200, body: serializeMachine(machine) };
});
