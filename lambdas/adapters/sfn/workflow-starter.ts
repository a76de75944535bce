/**
 * WorkflowStarter on Step Functions. The execution is named after the job, so a retried start of
 * the same job is idempotent (Standard workflows return the same execution for the same name+input).
 */
import { ExecutionAlreadyExists, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { StateConflictError } from '../../core/errors';
import type { BuildRequest, WorkflowStarter, WorkflowStopper } from '../../core/ports';

export class SfnWorkflowStarter implements WorkflowStarter, WorkflowStopper {
  constructor(private readonly sfn: SFNClient, private readonly stateMachineArn: string) {}

  async startBuild(request: BuildRequest): Promise<{ executionArn: string }> {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: request.jobId, input: JSON.stringify(request) }),
      );
      return { executionArn: out.executionArn! };
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists) throw new StateConflictError(`job ${request.jobId} was already started with other input`);
      throw err;
    }
  }

  /** StopExecution; stopping an execution that already ended is a no-op on Step Functions too. */
  async stopBuild(executionArn: string, cause: string): Promise<void> {
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: cause.slice(0, 32768) }));
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist) return;
      throw err;
    }
  }
}
