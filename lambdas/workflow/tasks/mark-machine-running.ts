/** MarkMachineRunning: the machine becomes `running` with its boot disk (a conditional write). */
import { StateConflictError } from '../../core/errors';
import { provisionSteps } from '../provision-deps';
import { BuildConflictError } from '../errors';
import type { ProvisionState } from '../provision-state';
import { observedTask } from '../../observability/powertools';

export const handler = observedTask('MarkMachineRunning', async (state: ProvisionState): Promise<{ ok: true }> => {
  if (!state.expanded) throw new Error('MarkMachineRunning needs $.expanded from ExpandImage');
  try {
    await provisionSteps.complete(state.machineId, { id: state.disk.id, boot: true, size: state.expanded.size, key: state.disk.key });
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw err;
  }
  return { ok: true };
});
