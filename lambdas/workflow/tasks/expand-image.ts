/**
 * ExpandImage: checks the machine is still `provisioning`, then streams the image file (gunzipped when
 * compressed) into the machine's new disk object, in bounded memory; returns the disk's size. A
 * missing or corrupt image file fails for good (no retry); other storage errors are retried, each
 * attempt starting a fresh upload (the failed one was aborted).
 */
import { diskProvisioner, machineRepository } from '../../wiring';
import { BuildConflictError } from '../errors';
import type { ProvisionState } from '../provision-state';
import { observedTask } from '../../observability/powertools';

export const handler = observedTask('ExpandImage', async (state: ProvisionState): Promise<{ size: number }> => {
  const machine = await machineRepository().get(state.machineId);
  if (machine?.state !== 'provisioning')
    throw new BuildConflictError(`machine ${state.machineId} is ${machine?.state ?? 'gone'}; nothing to provision`);
  const size = await diskProvisioner().expandImage(state.file, state.disk.key);
  return { size };
});
