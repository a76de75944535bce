/**
 * The embedded local stack (DESIGN §6): dynalite, s3rver (with the multipart operations it lacks),
 * a Step Functions endpoint running the ASL that CDK synthesizes, and the gateway built from the
 * route table. Handlers run in this process with the real SDK v3 clients; only endpoints differ,
 * set through the SDK's own AWS_ENDPOINT_URL_* variables. `npm start` and the integration tests
 * both start it through `startLocalStack`.
 */
import './polyfills';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { synthesizeLocalDefinition } from '../lib/local-asl';
import { taskEntry } from '../lambdas/routes';
import { startLocalDynamo } from './dynamo';
import { startLocalS3 } from './s3';
import { startLocalSfn, type LocalTaskHandler } from './sfn';
import { startGateway } from './gateway';
import { ensureTable } from './table';
import { handlers } from './handlers';

export const LOCAL_NAMES = {
  table: 'machine-image-service',
  imagesBucket: 'machine-image-service-images',
  disksBucket: 'machine-image-service-disks',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:BuildImage',
  region: 'us-east-1',
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
}

export interface LocalStack {
  url: string;
  endpoints: { dynamodb: string; s3: string; sfn: string };
  /** The environment the handlers run with (also what a client of the local AWS endpoints needs). */
  env: Record<string, string>;
  waitForIdle(): Promise<void>;
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
    // s3rver stores aws-chunked framing verbatim: send plain bodies (notes/local-emulation.md §2).
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    S3_FORCE_PATH_STYLE: 'true',
    TABLE_NAME: LOCAL_NAMES.table,
    IMAGES_BUCKET: LOCAL_NAMES.imagesBucket,
    DISKS_BUCKET: LOCAL_NAMES.disksBucket,
    STATE_MACHINE_ARN: LOCAL_NAMES.stateMachineArn,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  mkdirSync(options.dataDir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  try {
    const dynamo = await startLocalDynamo({ dataDir: path.join(options.dataDir, 'dynamodb') });
    closers.push(() => dynamo.close());
    const s3 = await startLocalS3({ dataDir: path.join(options.dataDir, 's3'), buckets: [LOCAL_NAMES.imagesBucket, LOCAL_NAMES.disksBucket] });
    closers.push(() => s3.close());

    const { definition, taskStates } = synthesizeLocalDefinition({ region: LOCAL_NAMES.region });
    const taskHandlers: Record<string, LocalTaskHandler> = {};
    for (const state of taskStates) {
      const load = handlers[taskEntry(state)];
      if (!load) throw new Error(`no local handler for workflow task ${state} (${taskEntry(state)})`);
      taskHandlers[state] = (input, ctx) =>
        load()(input, { awsRequestId: ctx.executionArn, functionName: state, getRemainingTimeInMillis: () => 900_000 });
    }
    const retry = options.retryIntervalMs ?? 200;
    const sfn = await startLocalSfn({
      stateMachines: [{ arn: LOCAL_NAMES.stateMachineArn, name: 'BuildImage', definition }],
      taskHandlers,
      retryIntervalOverrides: Object.fromEntries(taskStates.map((s) => [s, retry])),
    });
    closers.push(() => sfn.close());

    const endpoints = { dynamodb: dynamo.endpoint, s3: s3.endpoint, sfn: sfn.endpoint };
    const env = handlerEnv(endpoints);
    Object.assign(process.env, env);
    await ensureTable(new DynamoDBClient({ endpoint: endpoints.dynamodb, region: LOCAL_NAMES.region }), LOCAL_NAMES.table);

    const gateway = await startGateway({ port: options.port, ready: options.ready });
    closers.push(() => gateway.close());
    return {
      url: gateway.url,
      endpoints,
      env,
      waitForIdle: () => sfn.waitForIdle(),
      close: async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw err;
  }
}
