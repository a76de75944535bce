/**
 * No stuck work: an execution that is stopped, times out, or fails where the workflow's own Catch path
 * cannot run (a terminal error such as States.DataLimitExceeded, or a MarkFailed that failed for good)
 * would leave its image `creating` and its job RUNNING forever. Step Functions emits a "Step Functions
 * Execution Status Change" event to the default bus whenever a Standard execution ends; one rule takes
 * FAILED, TIMED_OUT and ABORTED for every state machine of the stack (found generically when the
 * template is synthesized, so a workflow added later is covered without touching this) and invokes ONE
 * function, `lambdas/workflow/execution-ended.ts`, which runs the one failure use case
 * (`endFailedBuild` in lambdas/core/use-cases/build-steps.ts). See docs/decisions/stuck-executions.md.
 *
 * Delivery: EventBridge retries a failed delivery for 24 h; the function is invoked asynchronously and
 * Lambda retries a failed invocation twice. Whatever still fails lands in one dead-letter queue
 * (kept 14 days) for an operator, never silently.
 */
import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENDED_STATUSES } from '../../lambdas/workflow/execution-ended';
import type { Data } from './data';
import { createServiceFunction } from './service-function';

export const EXECUTION_ENDED_ENTRY = 'workflow/execution-ended.ts';
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

export interface ExecutionFailuresProps {
  data: Data;
}

export class ExecutionFailures extends Construct {
  readonly rule: Rule;
  readonly handler: NodejsFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ExecutionFailuresProps) {
    super(scope, id);
    const { data } = props;
    const stack = Stack.of(this);

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.handler = createServiceFunction(this, 'ExecutionEnded', {
      entry: EXECUTION_ENDED_ENTRY,
      roleKey: 'ExecutionEnded',
      invocation: 'async',
      description: 'Ends builds whose execution failed, timed out or was stopped: cleanup, image failed, job FAIL',
      // Emptying a large image's prefix (many parts) is the long part.
      timeout: Duration.minutes(5),
      environment: data.environment,
    });
    data.grantItemsReadWrite(this.handler);
    data.grantImageFilesWrite(this.handler);
    data.grantDisksWrite(this.handler); // provisioning executions: their partial disk
    this.handler.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(this.deadLetterQueue) });
    Validations.of(this.handler).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Asynchronous failures go to an on-failure destination (the DeadLetters queue), which records the error and the request context a DLQ would drop.',
    });
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id,
        reason:
          'This queue is the dead-letter queue (of the rule target and of the function); an alarm watches its depth (lib/constructs/monitoring.ts).',
      });
    }

    // Every state machine in the stack, resolved at synthesis (after all constructs exist).
    const stateMachineArns = Lazy.list({
      produce: () =>
        stack.node
          .findAll()
          .filter((c): c is StateMachine => c instanceof StateMachine)
          .map((sm) => sm.stateMachineArn),
    });
    this.rule = new Rule(this, 'Rule', {
      description: 'Executions of this stack that ended without succeeding',
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { status: [...ENDED_STATUSES], stateMachineArn: stateMachineArns },
      },
    });
    this.rule.addTarget(
      new LambdaFunction(this.handler, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );
  }
}
