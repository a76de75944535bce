/**
 * WorkflowStarter on Step Functions. The execution is named after the job, so a retried start of
 * the same job is idempotent (Standard workflows return the same execution for the same name+input).
 */
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StateConflictError } from '../../core/errors';
import type { BuildRequest, CopyWorkflowRequest, CopyWorkflowStarter, WorkflowStarter } from '../../core/ports';

export class SfnWorkflowStarter implements WorkflowStarter, CopyWorkflowStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  startBuild(request: BuildRequest): Promise<{ executionArn: string }> {
    return this.start(request);
  }

  /** Copies run in the same state machine (a Choice on `$.copy`, lib/constructs/build-workflow.ts). */
  startCopy(request: CopyWorkflowRequest): Promise<{ executionArn: string }> {
    return this.start(request);
  }

  private async start(request: BuildRequest | CopyWorkflowRequest): Promise<{ executionArn: string }> {
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
}
