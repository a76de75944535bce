/**
 * ProvisionStarter on Step Functions: one execution of the provisioning state machine per machine,
 * named after it, so a retried start is idempotent (same name + same input = the same execution).
 */
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StateConflictError } from '../../core/errors';
import type { ProvisionRequest, ProvisionStarter } from '../../core/ports';

export class SfnProvisionStarter implements ProvisionStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async startProvision(request: ProvisionRequest): Promise<{ executionArn: string }> {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: request.machineId, input: JSON.stringify(request) }),
      );
      return { executionArn: out.executionArn! };
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists)
        throw new StateConflictError(`machine ${request.machineId} was already provisioned with other input`);
      throw err;
    }
  }
}
