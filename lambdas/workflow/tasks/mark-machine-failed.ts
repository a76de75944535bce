/** MarkMachineFailed (end of the provisioning Catch path): the machine becomes `failed` with the reason. */
import { provisionSteps } from '../provision-deps';
import type { ProvisionState } from '../provision-state';
import { describeFailure } from './mark-failed';
import { observedTask } from '../../observability/powertools';

export const handler = observedTask('MarkMachineFailed', async (state: ProvisionState): Promise<{ ok: true }> => {
  const failure = describeFailure(state.error);
  if (failure.code === 'InternalError' && !state.error) failure.message = 'provisioning failed for an unknown reason';
  if (state.cleanupError) failure.message += ' (removing its partial disk also failed; see the execution history)';
  await provisionSteps.fail(state.machineId, failure);
  return { ok: true };
});
