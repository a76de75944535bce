/**
 * The "build image" workflow (docs/architecture.md §5): a Standard state machine of Lambda tasks, one function per
 * Task state (`lambdas/workflow/tasks/<state>.ts`, see `taskEntry`).
 *
 *   PrepareSource ($.prepared) → BuildImageFile ($.file) → Finalize (discarded) → BuildSucceeded
 *   any forward task, on any error after its retries: Catch ($.error) → Cleanup ($.cleanup)
 *   Cleanup, even if it fails itself (Catch → $.cleanupError) → MarkFailed → BuildFailed (Fail)
 *
 * The compensation sits beside the steps it undoes (docs/architecture.md §5).
 * The definition is JSONPath only (no JSONata, no Assign) and every task is a `payloadResponseOnly`
 * LambdaInvoke, so each Task's Resource is its function ARN and the input is the whole state document:
 * that is what lets the local stack run this very definition in aws-local-stepfunctions, mapping each
 * Task by its state name (see lib/local-asl.ts).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  Fail,
  JsonPath,
  LogLevel,
  RetryProps,
  StateMachine,
  StateMachineType,
  Succeed,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BUILD_TASKS, BuildTask, taskEntry } from '../../lambdas/routes';
import { RETRYABLE_ERRORS } from '../../lambdas/workflow/errors';
import { Data } from './data';
import { createServiceFunction } from './service-function';

/** State names of the build workflow, as they appear in the ASL. Task names come from BUILD_TASKS. */
export const BUILD_STATES = {
  PrepareSource: 'PrepareSource',
  BuildImageFile: 'BuildImageFile',
  Finalize: 'Finalize',
  Cleanup: 'Cleanup',
  MarkFailed: 'MarkFailed',
  BuildSucceeded: 'BuildSucceeded',
  BuildFailed: 'BuildFailed',
} as const satisfies Record<BuildTask, BuildTask> & Record<string, string>;

/** The forward steps, in order; each is compensated by Cleanup. */
export const FORWARD_TASKS = ['PrepareSource', 'BuildImageFile', 'Finalize'] as const satisfies readonly BuildTask[];

/** The `Error` of the execution when a build fails (the job item holds the real reason). */
export const BUILD_FAILED_ERROR = 'BuildFailed';

/** One retry policy for every task: our transient errors and the Lambda service's own. */
export const TASK_RETRY: RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 3,
};

export const STATE_MACHINE_TIMEOUT = Duration.hours(2);

interface TaskSettings {
  resultPath: string;
  memorySize?: number;
  timeout?: Duration;
}

const TASK_SETTINGS: Record<BuildTask, TaskSettings> = {
  PrepareSource: { resultPath: '$.prepared' },
  // The streaming pipeline (read → convert → compress → hash → upload): 3,538 MB is the smallest
  // size with 2 vCPUs, which the parallel gzip members need; 15 minutes is Lambda's maximum.
  BuildImageFile: { resultPath: '$.file', memorySize: 3538, timeout: Duration.minutes(15) },
  Finalize: { resultPath: JsonPath.DISCARD },
  Cleanup: { resultPath: '$.cleanup' },
  MarkFailed: { resultPath: JsonPath.DISCARD },
};

export interface BuildWorkflowProps {
  data: Data;
}

export class BuildWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /** The function behind each Task state. */
  readonly functions: Record<BuildTask, NodejsFunction>;

  constructor(scope: Construct, id: string, props: BuildWorkflowProps) {
    super(scope, id);
    const { data } = props;

    const functions = {} as Record<BuildTask, NodejsFunction>;
    const tasks = {} as Record<BuildTask, LambdaInvoke>;
    for (const state of BUILD_TASKS) {
      const settings = TASK_SETTINGS[state];
      const fn = createServiceFunction(this, `${state}Function`, {
        entry: taskEntry(state),
        description: `Build workflow task ${state}`,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        environment: data.environment,
      });
      data.grantItemsReadWrite(fn);
      data.grantDisksRead(fn);
      data.grantImageFilesWrite(fn);
      functions[state] = fn;
      const task = new LambdaInvoke(this, state, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        resultPath: settings.resultPath,
        // Our own Retry below already covers the Lambda service errors: one policy, not two.
        retryOnServiceExceptions: false,
      });
      task.addRetry(TASK_RETRY);
      tasks[state] = task;
    }
    this.functions = functions;

    const failed = new Fail(this, BUILD_STATES.BuildFailed, {
      error: BUILD_FAILED_ERROR,
      cause: 'The image build failed; the job records the reason.',
    });
    const markFailed = tasks.MarkFailed.next(failed);
    // Cleanup is best effort: whatever happens to it, the job must still be marked failed.
    const cleanup = tasks.Cleanup.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.cleanupError' }).next(
      markFailed,
    );
    for (const state of FORWARD_TASKS) {
      tasks[state].addCatch(cleanup, { errors: ['States.ALL'], resultPath: '$.error' });
    }
    const definition = tasks.PrepareSource.next(tasks.BuildImageFile)
      .next(tasks.Finalize)
      .next(new Succeed(this, BUILD_STATES.BuildSucceeded));

    const logGroup = new LogGroup(this, 'StateMachineLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      comment: 'Builds an image file from a source (machine disk, volume, bucket object, image) and finalizes the image',
      timeout: STATE_MACHINE_TIMEOUT,
      logs: { destination: logGroup, level: LogLevel.ERROR, includeExecutionData: true },
    });
  }
}
