/**
 * RemoveDisk (the provisioning Catch path): aborts any upload still open for the new disk and deletes
 * the disk object, so a failed provisioning leaves nothing behind. Idempotent; safe to retry.
 */
import { diskProvisioner } from '../../wiring';
import { TransientStorageError } from '../errors';
import type { ProvisionState } from '../provision-state';
import { observedTask } from '../../observability/powertools';

export async function removeProvisionedDisk(key: string): Promise<{ removed: string }> {
  try {
    await diskProvisioner().removeDisk(key);
  } catch (err) {
    throw new TransientStorageError(`removing the disk ${key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { removed: key };
}

export const handler = observedTask(
  'RemoveDisk',
  async (state: ProvisionState): Promise<{ removed: string }> => removeProvisionedDisk(state.disk.key),
);
