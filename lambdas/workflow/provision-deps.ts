/** What every provisioning task needs: the provision-step use cases bound to the real repositories. */
import { completeProvisioning, failProvisioning } from '../core/use-cases/provision-steps';
import { clock, machineRepository } from '../wiring';

const deps = () => ({ machines: machineRepository(), clock });

export const provisionSteps = {
  complete: (...a: Parameters<ReturnType<typeof completeProvisioning>>) => completeProvisioning(deps())(...a),
  fail: (...a: Parameters<ReturnType<typeof failProvisioning>>) => failProvisioning(deps())(...a),
};
