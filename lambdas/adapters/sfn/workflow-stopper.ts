/**
 * WorkflowStopper on Step Functions: StopExecution. Stopping an execution that already ended is a
 * no-op on AWS (it answers with the stop date it has); an execution that does not exist is reported.
 */
import { ExecutionDoesNotExist, type SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { NotFoundError } from '../../core/errors';
import type { WorkflowStopper } from '../../core/ports';

export class SfnWorkflowStopper implements WorkflowStopper {
  constructor(private readonly sfn: SFNClient) {}

  async stop(executionArn: string, reason: { error: string; cause: string }): Promise<void> {
    try {
      await this.sfn.send(
        new StopExecutionCommand({ executionArn, error: reason.error.slice(0, 256), cause: reason.cause.slice(0, 32768) }),
      );
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist) throw new NotFoundError(`execution ${executionArn} does not exist`);
      throw err;
    }
  }
}
