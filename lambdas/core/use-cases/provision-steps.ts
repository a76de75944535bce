/**
 * The state changes the provisioning workflow makes (lib/constructs/provision-workflow.ts), as core
 * use cases. Each is a conditional write on the machine's state and idempotent, since Step Functions
 * retries tasks and a failure handler outside the workflow may replay the failure of an execution
 * that already ran its Catch path.
 */
import { StateConflictError } from '../errors';
import type { Machine, MachineDisk } from '../machine';
import type { Clock, MachineRepository } from '../ports';

export interface ProvisionStepDeps {
  machines: MachineRepository;
  clock: Clock;
}

/** provisioning → running with its boot disk. Replaying it once it took effect changes nothing. */
export const completeProvisioning =
  (deps: ProvisionStepDeps) =>
  async (machineId: string, disk: MachineDisk): Promise<Machine> => {
    try {
      return await deps.machines.update(
        machineId,
        { states: ['provisioning'] },
        { state: 'running', disks: [disk], updated_at: deps.clock.now().toISOString() },
      );
    } catch (err) {
      const current = await deps.machines.get(machineId);
      if (current && current.state !== 'provisioning' && current.disks.some((d) => d.key === disk.key)) return current;
      throw err;
    }
  };

/**
 * provisioning → failed with the reason. A machine that already left `provisioning` (it failed
 * before, or succeeded and the failure is a late replay) is left as it is.
 */
export const failProvisioning =
  (deps: ProvisionStepDeps) =>
  async (machineId: string, error: { code: string; message: string }): Promise<void> => {
    const machine = await deps.machines.get(machineId);
    if (machine?.state !== 'provisioning') return;
    await deps.machines
      .update(machineId, { states: ['provisioning'] }, { state: 'failed', error, updated_at: deps.clock.now().toISOString() })
      .catch((err) => {
        if (!(err instanceof StateConflictError)) throw err;
      });
  };
