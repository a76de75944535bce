/**
 * The "provision machine" workflow: a Standard state machine of Lambda tasks in the build workflow's
 * pattern (lib/constructs/build-workflow.ts), one function per Task state
 * (`lambdas/workflow/tasks/<state>.ts`, see `taskEntry`).
 *
 *   ExpansionPath (Choice, lambdas/workflow/expansion.ts `expansionSource`):
 *     an uncompressed qcow2/vhd/vmdk/ova file → FormatSize: its disk (virtualSize, or the file's size
 *       when the manifest has none) at least the chunking threshold → in ranges
 *     a raw/iso file with a range index → ExpansionSize: its disk at least the threshold → in ranges
 *     in ranges: ExpansionSettings (Pass, $.expansionSettings) → StartExpansion ($.expansion) →
 *       ExpandAndVerify (Parallel, result discarded: ExpandRanges, an inline Map of ExpandRange with
 *       MaxConcurrency ‖ VerifyNeeded: a format file's VerifyImageFile ⇄ VerifyDone) → CompleteDisk ($.expanded)
 *     otherwise (smaller disks, gzip-compressed format files) → ExpandImage ($.expanded): one invocation
 *   → MarkMachineRunning (discarded) → ProvisionSucceeded
 *   any forward task or the Parallel, on any error after its retries: Catch ($.error) → RemoveDisk ($.cleanup)
 *   RemoveDisk, even if it fails itself (Catch → $.cleanupError) → MarkMachineFailed → ProvisionFailed (Fail)
 *
 * Same Retry policy as the build (TASK_RETRY), JSONPath only, `payloadResponseOnly` LambdaInvoke, so
 * the local stack runs this very definition (lib/local-asl.ts). The execution input is a
 * `ProvisionRequest` (lambdas/core/ports.ts) that names the machine and its disk, which is what an
 * execution-status handler outside the workflow needs to fail a stopped or timed-out execution the
 * same way (`failProvisioning` + RemoveDisk are idempotent).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  Result,
  StateMachine,
  StateMachineType,
  Succeed,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PROVISION_TASKS, type ProvisionTask, taskEntry } from '../../lambdas/routes';
import type { ChunkingSettings } from '../../lambdas/workflow/chunked';
import { RANGE_INDEX_FORMATS, RANGE_READ_FORMATS, type ExpansionSettings } from '../../lambdas/workflow/expansion';
import { TASK_RETRY, acknowledgeStateMachineRole, chunkingSettings } from './build-workflow';
import type { Data } from './data';
import { createServiceFunction } from './service-function';

export const PROVISION_STATES = {
  ExpandImage: 'ExpandImage',
  MarkMachineRunning: 'MarkMachineRunning',
  RemoveDisk: 'RemoveDisk',
  MarkMachineFailed: 'MarkMachineFailed',
  ProvisionSucceeded: 'ProvisionSucceeded',
  ProvisionFailed: 'ProvisionFailed',
  StartExpansion: 'StartExpansion',
  ExpandRange: 'ExpandRange',
  CompleteDisk: 'CompleteDisk',
  ExpansionPath: 'ExpansionPath',
  ExpansionSize: 'ExpansionSize',
  ExpandRanges: 'ExpandRanges',
  ExpansionSettings: 'ExpansionSettings',
  FormatSize: 'FormatSize',
  FormatDiskSize: 'FormatDiskSize',
  FormatFileSize: 'FormatFileSize',
  VerifyImageFile: 'VerifyImageFile',
  ExpandAndVerify: 'ExpandAndVerify',
  VerifyNeeded: 'VerifyNeeded',
  VerifyDone: 'VerifyDone',
  FileVerified: 'FileVerified',
  NothingToVerify: 'NothingToVerify',
} as const satisfies Record<ProvisionTask, ProvisionTask> & Record<string, string>;

export const PROVISION_FORWARD_TASKS = [
  'ExpandImage',
  'MarkMachineRunning',
  'StartExpansion',
  'CompleteDisk',
] as const satisfies readonly ProvisionTask[];

/** The `Error` of the execution when provisioning fails (the machine item holds the real reason). */
export const PROVISION_FAILED_ERROR = 'ProvisionFailed';

/**
 * Long enough for the sequential sha256 pass over the largest format file (VerifyImageFile, beside the
 * ranges: 1 TiB at ~80 MiB/s ≈ 3.6 h, as the build's HashFile, lib/constructs/build-workflow.ts).
 */
export const PROVISION_TIMEOUT = Duration.hours(6);

interface TaskSettings {
  resultPath: string;
  memorySize?: number;
  timeout?: Duration;
}

const TASK_SETTINGS: Record<ProvisionTask, TaskSettings> = {
  // gunzip is single-threaded: 1,769 MB is one full vCPU; 15 minutes is Lambda's maximum.
  ExpandImage: { resultPath: '$.expanded', memorySize: 1769, timeout: Duration.minutes(15) },
  MarkMachineRunning: { resultPath: JsonPath.DISCARD },
  RemoveDisk: { resultPath: '$.cleanup' },
  MarkMachineFailed: { resultPath: JsonPath.DISCARD },
  StartExpansion: { resultPath: '$.expansion' },
  // One range (≤ 1 GiB, lambdas/workflow/chunked.ts) gunzipped into memory, then one UploadPart.
  ExpandRange: { resultPath: '$', memorySize: 3538, timeout: Duration.minutes(15) },
  // ListParts (≤ 2,000 parts) + CompleteMultipartUpload, which S3 may take minutes to answer for a large object.
  CompleteDisk: { resultPath: '$.expanded', timeout: Duration.minutes(5) },
  // sha256 of a slice of the file (one ranged GET), checkpointed; a minute before the end it stops.
  VerifyImageFile: { resultPath: '$.verified', memorySize: 1769, timeout: Duration.minutes(15) },
};

/** Role keys by grant set (see the grants in the constructor). */
const PROVISION_ROLE_KEYS: Record<ProvisionTask, string> = {
  ExpandImage: 'ProvisionExpandImage',
  RemoveDisk: 'ProvisionRemoveDisk',
  MarkMachineRunning: 'ProvisionMarkMachine',
  MarkMachineFailed: 'ProvisionMarkMachine',
  StartExpansion: 'ProvisionExpandImage',
  ExpandRange: 'ProvisionExpandImage',
  CompleteDisk: 'ProvisionExpandImage',
  VerifyImageFile: 'ProvisionExpandImage',
};

export interface ProvisionWorkflowProps {
  data: Data;
  /** The chunking settings (threshold, Map concurrency) also govern expansion in ranges. @default DEFAULT_CHUNKING */
  chunking?: Partial<ChunkingSettings>;
}

export class ProvisionWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: Record<ProvisionTask, NodejsFunction>;

  constructor(scope: Construct, id: string, props: ProvisionWorkflowProps) {
    super(scope, id);
    const { data } = props;
    const chunking = chunkingSettings(props.chunking);

    const functions = {} as Record<ProvisionTask, NodejsFunction>;
    const tasks = {} as Record<ProvisionTask, LambdaInvoke>;
    for (const state of PROVISION_TASKS) {
      const settings = TASK_SETTINGS[state];
      const fn = createServiceFunction(this, `${state}Function`, {
        entry: taskEntry(state),
        roleKey: PROVISION_ROLE_KEYS[state],
        invocation: 'sync',
        description: `Provision workflow task ${state}`,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        environment: data.environment,
      });
      data.grantItemsReadWrite(fn);
      const expands = PROVISION_ROLE_KEYS[state] === 'ProvisionExpandImage';
      if (expands) data.grantImageFilesPresign(fn); // GetObject on image files (and their range indexes)
      if (expands || state === 'RemoveDisk') data.grantDisksWrite(fn);
      functions[state] = fn;
      const task = new LambdaInvoke(this, state, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        resultPath: settings.resultPath,
        // a Map iteration's result is kept small: 2,000 of them must fit in 256 KB
        ...(state === 'ExpandRange' && { resultSelector: { 'bytes.$': '$.bytes' } }),
        retryOnServiceExceptions: false,
      });
      task.addRetry(TASK_RETRY);
      tasks[state] = task;
    }
    this.functions = functions;

    const failed = new Fail(this, PROVISION_STATES.ProvisionFailed, {
      error: PROVISION_FAILED_ERROR,
      cause: 'Provisioning failed; the machine records the reason.',
    });
    const markFailed = tasks.MarkMachineFailed.next(failed);
    const cleanup = tasks.RemoveDisk.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.cleanupError' }).next(markFailed);
    for (const state of PROVISION_FORWARD_TASKS) tasks[state].addCatch(cleanup, { errors: ['States.ALL'], resultPath: '$.error' });
    tasks.MarkMachineRunning.next(new Succeed(this, PROVISION_STATES.ProvisionSucceeded));

    // Expansion in ranges: the threshold and concurrency live in the definition (the Choice, the Map),
    // so the local stack reads them from the same template.
    const ranges = new MapState(this, PROVISION_STATES.ExpandRanges, {
      itemsPath: '$.expansion.items',
      maxConcurrency: chunking.maxConcurrency,
      itemSelector: {
        'machineId.$': '$.machineId',
        'index.$': '$$.Map.Item.Value',
        'file.$': '$.file',
        upload: {
          'key.$': '$.expansion.key',
          'uploadId.$': '$.expansion.uploadId',
          'fileEtag.$': '$.expansion.fileEtag',
          'ranges.$': '$.expansion.ranges',
          'rawSize.$': '$.expansion.rawSize',
          'rangeBytes.$': '$.expansion.rangeBytes',
        },
      },
      // the parts are in the upload; CompleteDisk lists them
      resultPath: JsonPath.DISCARD,
    });
    ranges.itemProcessor(tasks.ExpandRange);
    // A format file's sha256 against its manifest, beside the ranges (lambdas/workflow/tasks/verify-image-file.ts).
    const verifyDone = new Choice(this, PROVISION_STATES.VerifyDone)
      .when(Condition.booleanEquals('$.verified.done', true), new Succeed(this, PROVISION_STATES.FileVerified))
      .otherwise(tasks.VerifyImageFile);
    const verify = new Choice(this, PROVISION_STATES.VerifyNeeded)
      .when(Condition.booleanEquals('$.expansion.verify', true), tasks.VerifyImageFile.next(verifyDone))
      .otherwise(new Succeed(this, PROVISION_STATES.NothingToVerify));
    // A branch that fails stops the other one; the Catch then removes the disk's upload.
    const expandAndVerify = new Parallel(this, PROVISION_STATES.ExpandAndVerify, { resultPath: JsonPath.DISCARD })
      .branch(ranges)
      .branch(verify)
      .addCatch(cleanup, { errors: ['States.ALL'], resultPath: '$.error' });
    const settings = new Pass(this, PROVISION_STATES.ExpansionSettings, {
      result: Result.fromObject({
        rangeBytes: chunking.rangeBytes,
        hashBytesPerInvocation: chunking.hashBytesPerInvocation,
      } satisfies ExpansionSettings),
      resultPath: '$.expansionSettings',
    });
    const inRanges = settings.next(tasks.StartExpansion).next(expandAndVerify).next(tasks.CompleteDisk).next(tasks.MarkMachineRunning);
    const single = tasks.ExpandImage.next(tasks.MarkMachineRunning);
    // Nested Choices, not one And: a rule that reads a path that is not there fails the execution, so
    // an optional field ($.file.rangeIndex, $.file.virtualSize) is read only once it is known to be present.
    const bigEnough = new Choice(this, PROVISION_STATES.ExpansionSize)
      .when(Condition.numberGreaterThanEquals('$.file.rangeIndex.rawSize', chunking.thresholdBytes), inRanges)
      .otherwise(single);
    const formatSize = new Choice(this, PROVISION_STATES.FormatSize)
      .when(
        Condition.isPresent('$.file.virtualSize'),
        new Choice(this, PROVISION_STATES.FormatDiskSize)
          .when(Condition.numberGreaterThanEquals('$.file.virtualSize', chunking.thresholdBytes), inRanges)
          .otherwise(single),
      )
      // files recorded before virtualSize: the file's own size (StartExpansion reads the disk's from its header)
      .otherwise(
        new Choice(this, PROVISION_STATES.FormatFileSize)
          .when(Condition.numberGreaterThanEquals('$.file.size', chunking.thresholdBytes), inRanges)
          .otherwise(single),
      );
    const formatIs = (formats: readonly string[]) => Condition.or(...formats.map((f) => Condition.stringEquals('$.file.format', f)));
    const definition = new Choice(this, PROVISION_STATES.ExpansionPath)
      .when(Condition.and(Condition.stringEquals('$.file.compression', 'none'), formatIs(RANGE_READ_FORMATS)), formatSize)
      .when(Condition.and(Condition.isPresent('$.file.rangeIndex'), formatIs(RANGE_INDEX_FORMATS)), bigEnough)
      .otherwise(single);

    const logGroup = new LogGroup(this, 'StateMachineLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      comment: 'Provisions a machine: expands an image file into its new boot disk, then marks it running',
      timeout: PROVISION_TIMEOUT,
      // Every state transition, without inputs and outputs: the job item holds each failure's reason and
      // the execution history keeps the payloads (90 days), out of a log group any operator can read.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    acknowledgeStateMachineRole(this.stateMachine, Object.values(functions));
  }
}
