/**
 * The embedded local stack (docs/architecture.md §6): dynalite, s3rver (with the multipart operations it lacks),
 * a Step Functions endpoint running the ASL that CDK synthesizes, and the gateway built from the
 * route table. Handlers run in this process with the real SDK v3 clients; only endpoints differ,
 * set through the SDK's own AWS_ENDPOINT_URL_* variables. `npm start` and the integration tests
 * both start it through `startLocalStack`.
 */
import './polyfills';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDefinitionFromTemplate, synthesizeTemplate } from '../lib/local-asl';
import {
  taskStateFunctions,
  templateAuthorizer,
  templateRoutes,
  templateRules,
  templateStreamConsumers,
  type TemplateFunction,
} from '../lib/local-template';
import { taskEntry } from '../lambdas/routes';
import { startLocalDynamo } from './dynamo';
import { startLocalS3 } from './s3';
import { startLocalSfn, type LocalTaskHandler } from './sfn';
import { startGateway } from './gateway';
import { ensureTable } from './table';
import { handlers } from './handlers';
import { scaleMs, type LocalFunction } from './lambda';
import { startLocalEvents } from './events';
import { LocalStream, startStreamConsumers } from './dynamo-stream';
import { startLocalEventBridge } from './eventbridge';
import type { Latency } from './latency';
import type { ChunkingSettings } from '../lambdas/workflow/chunked';

export const LOCAL_NAMES = {
  table: 'machine-image-service',
  imagesBucket: 'machine-image-service-images',
  disksBucket: 'machine-image-service-disks',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:BuildImage',
  provisionStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:ProvisionMachine',
  region: 'us-east-1',
  /** The stack's event bus for job state changes (lib/constructs/job-events.ts). */
  eventBus: 'machine-image-service',
};

export interface LocalStackOptions {
  /** Gateway port; 0 for an ephemeral one. */
  port: number;
  /** Where DynamoDB and S3 keep their data (persists across restarts). */
  dataDir: string;
  /** Wait between workflow retries, in ms (the ASL's own intervals are seconds; local runs don't need them). */
  retryIntervalMs?: number;
  /**
   * Requests that reach the gateway before this settles wait for it (`npm start` settles it once
   * seeded and its state file is written, so a first answered ping means every command works).
   */
  ready?: Promise<void>;
  /**
   * Multiplies every time limit the local stack enforces — function timeouts, API Gateway's
   * integration timeout, Task and execution TimeoutSeconds — all read from the synthesized template.
   * Tests scale them down (e.g. 0.01: a 30 s function times out after 300 ms). @default 1
   */
  timeScale?: number;
  /** The stack's chunked-build setting (lib/constructs/build-workflow.ts), e.g. scaled down for tests. */
  chunking?: Partial<ChunkingSettings>;
  /**
   * Server-side copies (lambdas/adapters/s3/copy-object.ts): above `multipartThresholdBytes` they are
   * multipart copies of `partBytes` parts. Tests scale the threshold down to copy small files in parts.
   * Clones and IMS exports of files from `workflowThresholdBytes` run in the build workflow (lambdas/workflow/copy.ts).
   */
  copy?: { multipartThresholdBytes?: number; partBytes?: number; workflowThresholdBytes?: number };
}

export interface LocalStack {
  url: string;
  endpoints: { dynamodb: string; s3: string; sfn: string; events: string };
  /** The environment the handlers run with (also what a client of the local AWS endpoints needs). */
  env: Record<string, string>;
  /** Resolves when no execution, task or event delivery is in flight. */
  waitForIdle(): Promise<void>;
  /** Latency injection into the local DynamoDB and S3 servers (local/latency.ts). */
  latency: { dynamodb: Latency; s3: Latency };
  close(): Promise<void>;
}

/** The handler environment for a given set of endpoints. */
export function handlerEnv(endpoints: LocalStack['endpoints']): Record<string, string> {
  return {
    AWS_REGION: LOCAL_NAMES.region,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SFN: endpoints.sfn,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
    // s3rver stores aws-chunked framing verbatim: send plain bodies (docs/local-emulation.md §2).
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    S3_FORCE_PATH_STYLE: 'true',
    TABLE_NAME: LOCAL_NAMES.table,
    IMAGES_BUCKET: LOCAL_NAMES.imagesBucket,
    DISKS_BUCKET: LOCAL_NAMES.disksBucket,
    STATE_MACHINE_ARN: LOCAL_NAMES.stateMachineArn,
    PROVISION_STATE_MACHINE_ARN: LOCAL_NAMES.provisionStateMachineArn,
    EVENT_BUS_NAME: LOCAL_NAMES.eventBus,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  mkdirSync(options.dataDir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  try {
    // dynalite has no streams: every item write is captured here and fed to the template's stream consumers.
    const stream = new LocalStream(LOCAL_NAMES.region);
    const dynamo = await startLocalDynamo({ dataDir: path.join(options.dataDir, 'dynamodb'), stream });
    closers.push(() => dynamo.close());
    const s3 = await startLocalS3({
      dataDir: path.join(options.dataDir, 's3'),
      buckets: [LOCAL_NAMES.imagesBucket, LOCAL_NAMES.disksBucket],
    });
    closers.push(() => s3.close());

    // One synthesized template: the ASL, every function's limits and handler, the API's and the rules' wiring.
    const template = synthesizeTemplate({ chunking: options.chunking });
    const timeScale = options.timeScale ?? 1;
    const build = localDefinitionFromTemplate(template, { region: LOCAL_NAMES.region });
    const provision = localDefinitionFromTemplate(template, { region: LOCAL_NAMES.region, workflow: 'ProvisionWorkflow' });
    const taskStates = [...build.taskStates, ...provision.taskStates];
    const localFunction = (fn: TemplateFunction, name: string = fn.logicalId): LocalFunction => {
      const load = fn.entry === undefined ? undefined : handlers[fn.entry];
      if (!load) throw new Error(`no local handler for function ${fn.logicalId} (${fn.entry ?? 'no entry metadata'})`);
      return { name, timeoutMs: scaleMs(fn.timeoutSeconds * 1000, timeScale), memoryMb: fn.memoryMb, load };
    };

    const taskFunctions = new Map([
      ...taskStateFunctions(template, build.definition),
      ...taskStateFunctions(template, provision.definition),
    ]);
    const taskHandlers: Record<string, LocalTaskHandler> = {};
    const taskFunctionsByState: Record<string, { name: string; timeoutMs: number; memoryMb: number }> = {};
    for (const state of taskStates) {
      const fn = taskFunctions.get(state);
      const entry = fn?.entry ?? taskEntry(state);
      const load = handlers[entry];
      if (!load) throw new Error(`no local handler for workflow task ${state} (${entry})`);
      if (fn) taskFunctionsByState[state] = { name: fn.logicalId, timeoutMs: fn.timeoutSeconds * 1000, memoryMb: fn.memoryMb };
      // local/sfn.ts runs the handler through the local Lambda runtime: timeout, response size, context.
      taskHandlers[state] = (input, ctx) => load()(input, ctx.lambda);
    }
    const retry = options.retryIntervalMs ?? 200;
    const events = startLocalEvents({
      rules: templateRules(template, {
        region: LOCAL_NAMES.region,
        arns: {
          [build.stateMachineLogicalId]: LOCAL_NAMES.stateMachineArn,
          [provision.stateMachineLogicalId]: LOCAL_NAMES.provisionStateMachineArn,
        },
      }).map((rule) => ({
        name: rule.logicalId,
        pattern: rule.pattern,
        targets: rule.targets.map((fn) => localFunction(fn)),
      })),
      retryDelayMs: retry,
    });
    const eventBridge = await startLocalEventBridge({
      buses: [LOCAL_NAMES.eventBus],
      region: LOCAL_NAMES.region,
      onDefaultBusEvent: (event) => events.put(event),
    });
    closers.push(() => eventBridge.close());
    const streamConsumers = startStreamConsumers(
      stream,
      templateStreamConsumers(template).map((c) => ({
        name: c.logicalId,
        fn: localFunction(c.fn),
        filters: c.filters,
        batchSize: c.batchSize,
        maximumRetryAttempts: c.maximumRetryAttempts,
        reportBatchItemFailures: c.reportBatchItemFailures,
      })),
      { retryDelayMs: retry },
    );
    closers.push(async () => streamConsumers.close());
    const sfn = await startLocalSfn({
      stateMachines: [
        { arn: LOCAL_NAMES.stateMachineArn, name: 'BuildImage', definition: build.definition },
        { arn: LOCAL_NAMES.provisionStateMachineArn, name: 'ProvisionMachine', definition: provision.definition },
      ],
      taskHandlers,
      taskFunctions: taskFunctionsByState,
      timeScale,
      retryIntervalOverrides: Object.fromEntries(taskStates.map((s) => [s, retry])),
      onStatusChange: (event) => {
        const e = event as unknown as Record<string, unknown>;
        eventBridge.record({
          bus: 'default',
          source: String(e.source),
          'detail-type': String(e['detail-type']),
          time: String(e.time),
          resources: (e.resources as string[]) ?? [],
          detail: e.detail as Record<string, unknown>,
        });
        events.put(e);
      },
    });
    closers.push(() => sfn.close());

    const endpoints = { dynamodb: dynamo.endpoint, s3: s3.endpoint, sfn: sfn.endpoint, events: eventBridge.endpoint };
    const env = {
      ...handlerEnv(endpoints),
      ...(options.copy?.multipartThresholdBytes && { COPY_MULTIPART_THRESHOLD_BYTES: String(options.copy.multipartThresholdBytes) }),
      ...(options.copy?.partBytes && { COPY_PART_BYTES: String(options.copy.partBytes) }),
      ...(options.copy?.workflowThresholdBytes && { COPY_WORKFLOW_THRESHOLD_BYTES: String(options.copy.workflowThresholdBytes) }),
    };
    Object.assign(process.env, env);
    await ensureTable(new DynamoDBClient({ endpoint: endpoints.dynamodb, region: LOCAL_NAMES.region }), LOCAL_NAMES.table);

    const integrations = Object.fromEntries(
      [...templateRoutes(template).values()].map((r) => [
        r.operation,
        {
          fn: localFunction(r.fn, r.operation),
          integrationTimeoutMs: scaleMs(r.integrationTimeoutMs, timeScale),
          ...(r.bodyModels && { bodyModels: r.bodyModels }),
        },
      ]),
    );
    const gateway = await startGateway({
      port: options.port,
      ready: options.ready,
      integrations,
      authorizer: localFunction(templateAuthorizer(template), 'Authorizer'),
    });
    closers.push(() => gateway.close());
    return {
      url: gateway.url,
      endpoints,
      env,
      waitForIdle: async () => {
        // an event delivery can start executions, an execution's end starts deliveries; writes feed the stream
        do {
          await sfn.waitForIdle();
          await events.waitForIdle();
          await streamConsumers.waitForIdle();
        } while (!sfn.isIdle() || !events.isIdle() || !streamConsumers.isIdle());
      },
      latency: { dynamodb: dynamo.latency, s3: s3.latency },
      close: async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw err;
  }
}
