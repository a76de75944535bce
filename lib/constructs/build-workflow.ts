/**
 * The "build image" workflow (docs/architecture.md §5): a Standard state machine of Lambda tasks, one function per
 * Task state (`lambdas/workflow/tasks/<state>.ts`, see `taskEntry`).
 *
 *   RequestKind (Choice): a copy ($.copy: a large clone or IMS export, lambdas/workflow/copy.ts)
 *     → CopySettings (Pass, $.chunking) → CopyFile ($.copied: a checkpoint) ⇄ CopyDone (Choice: loop
 *     until $.copied.done, lambdas/workflow/copy-loop.ts) → Finalize → BuildSucceeded; otherwise a build:
 *   PrepareSource ($.prepared) → BuildPath (Choice on the source size)
 *     below the chunking threshold: BuildImageFile ($.file) → Finalize (discarded) → BuildSucceeded
 *     at or above it (lambdas/workflow/chunked.ts, docs/decisions/chunked-builds.md):
 *       ChunkingSettings (Pass, $.chunking) → StartRanges ($.chunked) → BuildRanges (inline Map of
 *       BuildRange, MaxConcurrency, result discarded) → AssembleFile ($.assembled)
 *       → HashFile ($.hash) ⇄ HashDone (Choice: loop until $.hash.done) → ComposePath (Choice)
 *       → ChunkedFile (Pass, $.file) → Finalize; an ova (lambdas/workflow/ova-compose.ts): ComposePath
 *       → ComposeOva ($.composed) ⇄ ComposeDone (Choice: loop until $.composed.done) → HashFile again
 *       (the ova) ⇄ HashDone → ComposePath → ChunkedFile → Finalize
 *   any forward task, on any error after its retries: Catch ($.error) → Cleanup ($.cleanup)
 *   Cleanup, even if it fails itself (Catch → $.cleanupError) → MarkFailed → BuildFailed (Fail)
 *
 * The compensation sits beside the steps it undoes (docs/architecture.md §5).
 * The definition is JSONPath only (no JSONata, no Assign) and every task is a `payloadResponseOnly`
 * LambdaInvoke, so each Task's Resource is its function ARN and its payload the whole state document
 * with the attempt's `$$.State` (TASK_PAYLOAD):
 * that is what lets the local stack run this very definition in aws-local-stepfunctions, mapping each
 * Task by its state name (see lib/local-asl.ts).
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
  Pass,
  Result,
  type RetryProps,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BUILD_TASKS, type BuildTask, taskEntry } from '../../lambdas/routes';
import { RETRYABLE_ERRORS } from '../../lambdas/workflow/errors';
import { TASK_PAYLOAD_FIELDS } from '../../lambdas/workflow/attempt';
import { DEFAULT_CHUNKING, MIN_PART_BYTES, type ChunkingSettings, type ChunkingState } from '../../lambdas/workflow/chunked';
import { RANGE_FORMATS, UNCOMPRESSED_RANGE_FORMATS } from '../../lambdas/pipeline/formats/range-formats';
import type { Data } from './data';
import { createServiceFunction } from './service-function';
import { acknowledgeWildcards, functionVersionsFinding, XRAY_REASON } from '../nag';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';

/** State names of the build workflow, as they appear in the ASL. Task names come from BUILD_TASKS. */
export const BUILD_STATES = {
  PrepareSource: 'PrepareSource',
  BuildImageFile: 'BuildImageFile',
  Finalize: 'Finalize',
  Cleanup: 'Cleanup',
  MarkFailed: 'MarkFailed',
  BuildSucceeded: 'BuildSucceeded',
  BuildFailed: 'BuildFailed',
  BuildPath: 'BuildPath',
  ChunkingSettings: 'ChunkingSettings',
  StartRanges: 'StartRanges',
  BuildRanges: 'BuildRanges',
  BuildRange: 'BuildRange',
  AssembleFile: 'AssembleFile',
  HashFile: 'HashFile',
  HashDone: 'HashDone',
  ComposePath: 'ComposePath',
  ComposeOva: 'ComposeOva',
  ComposeDone: 'ComposeDone',
  ChunkedFile: 'ChunkedFile',
  RequestKind: 'RequestKind',
  CopyFile: 'CopyFile',
  CopySettings: 'CopySettings',
  CopyDone: 'CopyDone',
} as const satisfies Record<BuildTask, BuildTask> & Record<string, string>;

/** The forward steps, in order; each is compensated by Cleanup. */
export const FORWARD_TASKS = [
  'PrepareSource',
  'BuildImageFile',
  'Finalize',
  'StartRanges',
  'AssembleFile',
  'HashFile',
  'ComposeOva',
  'CopyFile',
] as const satisfies readonly BuildTask[];

/** The `Error` of the execution when a build fails (the job item holds the real reason). */
export const BUILD_FAILED_ERROR = 'BuildFailed';

/** One retry policy for every task: our transient errors and the Lambda service's own. */
export const TASK_RETRY: RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 3,
};

/**
 * Long enough for a chunked build of the largest disk (1 TiB): its whole-file hash pass is sequential
 * (README, "Limits and cost").
 */
export const STATE_MACHINE_TIMEOUT = Duration.hours(6);

interface TaskSettings {
  resultPath: string;
  memorySize?: number;
  timeout?: Duration;
  nodeModules?: string[];
}

const TASK_SETTINGS: Record<BuildTask, TaskSettings> = {
  PrepareSource: { resultPath: '$.prepared' },
  // The streaming pipeline (read → convert → compress → hash → upload): 3,538 MB is the smallest
  // size with 2 vCPUs, which the parallel gzip members need; 15 minutes is Lambda's maximum.
  BuildImageFile: { resultPath: '$.file', memorySize: 3538, timeout: Duration.minutes(15) },
  Finalize: { resultPath: JsonPath.DISCARD },
  Cleanup: { resultPath: '$.cleanup' },
  MarkFailed: { resultPath: JsonPath.DISCARD },
  StartRanges: { resultPath: '$.chunked' },
  // One range: the same pipeline as BuildImageFile, on at most 1 GiB held in memory (chunked.ts).
  BuildRange: { resultPath: '$', memorySize: 3538, timeout: Duration.minutes(15) },
  // ListParts (≤ 2,000 parts) + CompleteMultipartUpload, which S3 may take minutes to answer for a large object;
  // for a disk format also the ranges' indexes and the tables (qcow2 of 1 TiB: ~160 MiB of L2 tables and refcount blocks).
  AssembleFile: { resultPath: '$.assembled', memorySize: 1769, timeout: Duration.minutes(15) },
  // sha1 + sha256 of a slice of the file, sha1 in a worker thread beside sha256: 2 vCPUs (3,538 MB);
  // the worker loads hash-wasm by path, so it ships in node_modules (lambdas/pipeline/dual-hash.ts).
  HashFile: { resultPath: '$.hash', memorySize: 3538, timeout: Duration.minutes(15), nodeModules: ['hash-wasm'] },
  // The ova's tar around its hashed vmdk: UploadPartCopy of the vmdk, and its first and last 5 MiB
  // with the tar entries uploaded (lambdas/workflow/ova-compose.ts); a loop, like CopyFile.
  ComposeOva: { resultPath: '$.composed', timeout: Duration.minutes(15) },
  // A slice of a server-side copy or of its read-back check (copy-loop.ts), or a format conversion through the pipeline (2 vCPUs).
  CopyFile: { resultPath: '$.copied', memorySize: 3538, timeout: Duration.minutes(15) },
};

/**
 * What every task is invoked with: the whole state document and which attempt of the step this is
 * (`$$.State`), so a retry can leave itself in the job's history (lambdas/workflow/attempt.ts,
 * docs/decisions/retry-history.md). The task's result still goes to its ResultPath in the document.
 */
const TASK_PAYLOAD = TaskInput.fromObject({
  state: JsonPath.entirePayload,
  attempt: {
    retryCount: JsonPath.numberAt(TASK_PAYLOAD_FIELDS.attempt.retryCount),
    enteredTime: JsonPath.stringAt(TASK_PAYLOAD_FIELDS.attempt.enteredTime),
  },
});

export interface BuildWorkflowProps {
  data: Data;
  /** Chunked builds: threshold, range size, hash slice, Map concurrency. @default DEFAULT_CHUNKING */
  chunking?: Partial<ChunkingSettings>;
}

/** Inline Map runs at most 40 iterations at once, whatever MaxConcurrency says. */
const INLINE_MAP_MAX_CONCURRENCY = 40;

export function chunkingSettings(overrides: Partial<ChunkingSettings> = {}): ChunkingSettings {
  const s = { ...DEFAULT_CHUNKING, ...overrides };
  const positive = (name: keyof ChunkingSettings) => {
    if (!Number.isSafeInteger(s[name]) || s[name] < 1) throw new Error(`chunking.${name} must be a positive integer, got ${s[name]}`);
  };
  (Object.keys(DEFAULT_CHUNKING) as (keyof ChunkingSettings)[]).forEach(positive);
  if (s.rangeBytes < MIN_PART_BYTES) throw new Error(`chunking.rangeBytes must be at least ${MIN_PART_BYTES} (S3's minimum part size)`);
  if (s.maxConcurrency > INLINE_MAP_MAX_CONCURRENCY)
    throw new Error(`chunking.maxConcurrency must be at most ${INLINE_MAP_MAX_CONCURRENCY} (inline Map)`);
  return s;
}

export class BuildWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /** The function behind each Task state. */
  readonly functions: Record<BuildTask, NodejsFunction>;

  constructor(scope: Construct, id: string, props: BuildWorkflowProps) {
    super(scope, id);
    const { data } = props;
    const chunking = chunkingSettings(props.chunking);

    const functions = {} as Record<BuildTask, NodejsFunction>;
    const tasks = {} as Record<BuildTask, LambdaInvoke>;
    for (const state of BUILD_TASKS) {
      const settings = TASK_SETTINGS[state];
      const fn = createServiceFunction(this, `${state}Function`, {
        entry: taskEntry(state),
        // every task gets the same grants (below): one role
        roleKey: 'BuildTask',
        invocation: 'sync',
        description: `Build workflow task ${state}`,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        nodeModules: settings.nodeModules,
        environment: data.environment,
      });
      data.grantItemsReadWrite(fn);
      data.grantDisksRead(fn);
      data.grantImageFilesWrite(fn);
      functions[state] = fn;
      const task = new LambdaInvoke(this, state, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        payload: TASK_PAYLOAD,
        resultPath: settings.resultPath,
        // a Map iteration's result is kept small: 2,000 of them must fit in 256 KB
        ...(state === 'BuildRange' && { resultSelector: { 'bytes.$': '$.bytes' } }),
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
    const cleanup = tasks.Cleanup.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.cleanupError' }).next(markFailed);
    for (const state of FORWARD_TASKS) {
      tasks[state].addCatch(cleanup, { errors: ['States.ALL'], resultPath: '$.error' });
    }

    // Chunked path. The settings live in the definition (a Pass state and the Choice below), so the
    // local stack reads them from the same template.
    const settings = new Pass(this, BUILD_STATES.ChunkingSettings, {
      result: Result.fromObject({
        rangeBytes: chunking.rangeBytes,
        hashBytesPerInvocation: chunking.hashBytesPerInvocation,
      } satisfies ChunkingState),
      resultPath: '$.chunking',
    });
    const ranges = new MapState(this, BUILD_STATES.BuildRanges, {
      itemsPath: '$.chunked.items',
      maxConcurrency: chunking.maxConcurrency,
      itemSelector: {
        'imageId.$': '$.imageId',
        'jobId.$': '$.jobId',
        'index.$': '$$.Map.Item.Value',
        'source.$': '$.source',
        'prepared.$': '$.prepared',
        'size.$': '$.prepared.size',
        'compression.$': '$.target.compression',
        // every range logs the execution's correlation id (StartRanges copies it, null when absent)
        'correlationId.$': '$.chunked.correlationId',
        upload: {
          'key.$': '$.chunked.key',
          'uploadId.$': '$.chunked.uploadId',
          'rangeBytes.$': '$.chunked.rangeBytes',
          'ranges.$': '$.chunked.ranges',
          'output.$': '$.chunked.output',
        },
      },
      // the parts are in the upload; AssembleFile lists them
      resultPath: JsonPath.DISCARD,
    });
    ranges.itemProcessor(tasks.BuildRange);
    ranges.addCatch(cleanup, { errors: ['States.ALL'], resultPath: '$.error' });
    const hashDone = new Choice(this, BUILD_STATES.HashDone);
    const chunkedFile = new Pass(this, BUILD_STATES.ChunkedFile, { inputPath: '$.hash.file', resultPath: '$.file' });
    // An ova's ranges build its vmdk: once hashed, ComposeOva (a loop) writes the ova around it, then
    // HashFile hashes the ova (lambdas/workflow/ova-compose.ts). StartRanges always sets
    // $.chunked.output, and $.composed is read only once known to be present.
    const composeDone = new Choice(this, BUILD_STATES.ComposeDone)
      .when(Condition.booleanEquals('$.composed.done', true), tasks.HashFile)
      .otherwise(tasks.ComposeOva);
    const composePath = new Choice(this, BUILD_STATES.ComposePath)
      .when(Condition.isPresent('$.composed'), chunkedFile.next(tasks.Finalize))
      .when(Condition.stringEquals('$.chunked.output.format', 'ova'), tasks.ComposeOva.next(composeDone))
      .otherwise(chunkedFile);
    const chunked = settings
      .next(tasks.StartRanges)
      .next(ranges)
      .next(tasks.AssembleFile)
      .next(tasks.HashFile)
      .next(hashDone.when(Condition.booleanEquals('$.hash.done', true), composePath).otherwise(tasks.HashFile));

    const single = tasks.BuildImageFile.next(tasks.Finalize);
    // Ranges write raw, qcow2, vhd and vmdk, and an uncompressed ova (lambdas/pipeline/formats/range-formats.ts);
    // a gzipped ova is converted in one invocation whatever the size (docs/decisions/disk-formats.md). Two
    // Choices, not one Or: a rule that reads a path that is not there fails the execution even inside an
    // Or, so $.target.output.format is only read once $.target.output is known to be present (rules are
    // tried in order; $.target.compression is always there).
    const rawOutput = new Choice(this, 'ChunkableFormat')
      .when(
        Condition.or(
          ...RANGE_FORMATS.map((format) => Condition.stringEquals('$.target.output.format', format)),
          ...UNCOMPRESSED_RANGE_FORMATS.map((format) =>
            Condition.and(Condition.stringEquals('$.target.output.format', format), Condition.stringEquals('$.target.compression', 'none')),
          ),
        ),
        chunked,
      )
      .otherwise(single);
    const chunkable = new Choice(this, 'ChunkableTarget').when(Condition.isPresent('$.target.output'), rawOutput).otherwise(chunked);
    const buildPath = new Choice(this, BUILD_STATES.BuildPath)
      .when(Condition.numberGreaterThanEquals('$.prepared.size', chunking.thresholdBytes), chunkable)
      .otherwise(single);
    tasks.Finalize.next(new Succeed(this, BUILD_STATES.BuildSucceeded));
    // Copies loop like HashFile, with the same byte budget per call (lambdas/workflow/copy-loop.ts).
    const copySettings = new Pass(this, BUILD_STATES.CopySettings, {
      result: Result.fromObject({
        rangeBytes: chunking.rangeBytes,
        hashBytesPerInvocation: chunking.hashBytesPerInvocation,
      } satisfies ChunkingState),
      resultPath: '$.chunking',
    });
    const copyDone = new Choice(this, BUILD_STATES.CopyDone)
      .when(Condition.booleanEquals('$.copied.done', true), tasks.Finalize)
      .otherwise(tasks.CopyFile);
    const requestKind = new Choice(this, BUILD_STATES.RequestKind)
      .when(Condition.isPresent('$.copy'), copySettings.next(tasks.CopyFile).next(copyDone))
      .otherwise(tasks.PrepareSource.next(buildPath));
    const definition = requestKind;

    const logGroup = new LogGroup(this, 'StateMachineLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      comment: 'Builds an image file from a source (machine disk, volume, bucket object, image) and finalizes the image',
      timeout: STATE_MACHINE_TIMEOUT,
      // Every state transition, without inputs and outputs: the job item holds each failure's reason and
      // the execution history keeps the payloads (90 days), out of a log group any operator can read.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    acknowledgeStateMachineRole(this.stateMachine, Object.values(functions));
  }
}

/** The wildcards CDK puts in a state machine's role, acknowledged with their reasons. */
export function acknowledgeStateMachineRole(stateMachine: StateMachine, functions: readonly IFunction[]): void {
  acknowledgeWildcards(
    stateMachine.role,
    functions.map(functionVersionsFinding),
    'LambdaInvoke grants `<function ARN>:*` beside each task function: its versions and aliases, never another function.',
  );
  acknowledgeWildcards(
    stateMachine.role,
    ['Resource::*'],
    `${XRAY_REASON} Likewise the CloudWatch Logs delivery actions Step Functions needs to log (logs:CreateLogDelivery, …) take no resource.`,
  );
}
