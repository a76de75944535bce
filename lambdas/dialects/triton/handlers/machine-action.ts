/**
 * POST /{login}/machines/{id} — machine actions (`action` in the query or, as the CLI sends it, the
 * body): stop | start. 202 with an empty body, as CloudAPI; the CLI then polls GetMachine.
 */
import { InvalidArgumentError, MissingParameterError, NotFoundError } from '../../../core/errors';
import { changeMachineState, type MachineAction } from '../../../core/use-cases/machine-lifecycle';
import { httpHandler } from '../../../http/middleware';
import { clock, machineRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';

const ACTIONS: readonly MachineAction[] = ['stop', 'start'];

export const handler = httpHandler({ operation: 'MachineAction', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('machine not found');
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  const action = req.query.action ?? (typeof body.action === 'string' ? body.action : undefined);
  if (!action)
    throw new MissingParameterError('action is required', [{ field: 'action', code: 'MissingParameter', message: 'is required' }]);
  if (!(ACTIONS as readonly string[]).includes(action)) throw new InvalidArgumentError(`${action} is not a supported action (stop, start)`);
  await changeMachineState({ machines: machineRepository(), clock })(req.caller, req.params.id, action as MachineAction);
  return { status: 202 };
});
