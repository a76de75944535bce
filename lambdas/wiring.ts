/**
 * Composition root: environment → SDK clients → adapters → use cases. The only module that sees
 * both sides of the ports. Everything is created lazily, once per process (Lambda container), so a
 * handler's bundle and cold start carry only the clients it uses (esbuild drops the rest).
 * Endpoints come only from the SDK's own `AWS_ENDPOINT_URL_*` variables; checksum behaviour from
 * `AWS_REQUEST_CHECKSUM_CALCULATION`; path-style addressing from `S3_FORCE_PATH_STYLE`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from './core/ports';
import { DynamoImageRepository } from './adapters/dynamodb/image-repository';
import { DynamoJobRepository } from './adapters/dynamodb/job-repository';
import { DynamoMachineRepository } from './adapters/dynamodb/machine-repository';
import { DynamoAccountRepository } from './adapters/dynamodb/account-repository';
import { S3FileUrlSigner } from './adapters/s3/file-url-signer';
import { S3ImageFileStore } from './adapters/s3/image-file-store';
import { S3DiskProvisioner } from './adapters/s3/disk-provisioner';
import { SfnWorkflowStarter } from './adapters/sfn/workflow-starter';
import { S3ObjectCopier } from './adapters/s3/object-copier';
import { S3ImageFileConverter } from './adapters/s3/image-converter';
import { DynamoCredentialRepository } from './adapters/dynamodb/credential-repository';
import { DynamoQuotaGate } from './adapters/dynamodb/quota-gate';
import { DEFAULT_QUOTAS, type QuotaLimits } from './core/quota';
import { SfnProvisionStarter } from './adapters/sfn/provision-starter';
import { copySettingsFromEnv } from './adapters/s3/copy-object';
import { SfnWorkflowStopper } from './adapters/sfn/workflow-stopper';
import { DynamoApplianceImageRepository, DynamoApplianceRepository } from './adapters/dynamodb/appliance-repository';
import { EventBridgeJobEventPublisher } from './adapters/eventbridge/job-event-publisher';

const disposers: (() => void)[] = [];
const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};
/** A client made at most once, and closed (its keep-alive sockets with it) by `disposeClients`. */
const client = <T extends { destroy(): void }>(make: () => T): (() => T) =>
  once(() => {
    const c = make();
    disposers.push(() => c.destroy());
    return c;
  });

/** Closes every SDK client made so far (for short-lived processes: CLIs, tests, benchmarks). */
export function disposeClients(): void {
  for (const dispose of disposers.splice(0)) dispose();
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

export const config = {
  tableName: () => env('TABLE_NAME'),
  imagesBucket: () => env('IMAGES_BUCKET'),
  disksBucket: () => env('DISKS_BUCKET'),
  stateMachineArn: () => env('STATE_MACHINE_ARN'),
  /** Per-account quotas: QUOTA_IMAGES, QUOTA_CONCURRENT_BUILDS, QUOTA_MACHINES, QUOTA_CONCURRENT_PROVISIONS, else the defaults (core/quota.ts). */
  quotas: (): QuotaLimits => ({
    images: positiveInt(process.env.QUOTA_IMAGES) ?? DEFAULT_QUOTAS.images,
    concurrentBuilds: positiveInt(process.env.QUOTA_CONCURRENT_BUILDS) ?? DEFAULT_QUOTAS.concurrentBuilds,
    machines: positiveInt(process.env.QUOTA_MACHINES) ?? DEFAULT_QUOTAS.machines,
    concurrentProvisions: positiveInt(process.env.QUOTA_CONCURRENT_PROVISIONS) ?? DEFAULT_QUOTAS.concurrentProvisions,
  }),
  provisionStateMachineArn: () => env('PROVISION_STATE_MACHINE_ARN'),
  /**
   * Clones and IMS exports of files at least this large run in the build workflow, not the request
   * (COPY_WORKFLOW_THRESHOLD_BYTES; default 1 GiB, the chunking threshold's default: a copy plus its
   * read-back check of more can outlast API Gateway's 29 s).
   */
  copyInWorkflowBytes: (): number => positiveInt(process.env.COPY_WORKFLOW_THRESHOLD_BYTES) ?? 1024 ** 3,
  /** The stack's event bus for job state changes (lib/constructs/job-events.ts). */
  eventBusName: () => env('EVENT_BUS_NAME'),
};

function positiveInt(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : undefined;
}

export const clock: Clock = { now: () => new Date() };
export const ids: IdGenerator = { uuid: () => randomUUID() };

/** The plain DynamoDB client (Powertools' idempotency layer marshals its own items); the document client wraps it. */
export const dynamoClient = /* @__PURE__ */ client(() => new DynamoDBClient({}));
export const documentClient = /* @__PURE__ */ client(() =>
  DynamoDBDocumentClient.from(dynamoClient(), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } }),
);
export const s3Client = /* @__PURE__ */ client(() => new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' }));
export const sfnClient = /* @__PURE__ */ client(() => new SFNClient({}));

export const imageRepository = /* @__PURE__ */ once(() => new DynamoImageRepository(documentClient(), config.tableName()));
export const jobRepository = /* @__PURE__ */ once(() => new DynamoJobRepository(documentClient(), config.tableName()));
export const machineRepository = /* @__PURE__ */ once(() => new DynamoMachineRepository(documentClient(), config.tableName()));
export const accountRepository = /* @__PURE__ */ once(() => new DynamoAccountRepository(documentClient(), config.tableName()));
export const fileUrlSigner = /* @__PURE__ */ once(() => new S3FileUrlSigner(s3Client(), config.imagesBucket()));
export const imageFileStore = /* @__PURE__ */ once(() => new S3ImageFileStore(s3Client(), config.imagesBucket(), copySettingsFromEnv()));
export const diskProvisioner = /* @__PURE__ */ once(() => new S3DiskProvisioner(s3Client(), config.imagesBucket(), config.disksBucket()));
export const workflowStarter = /* @__PURE__ */ once(() => new SfnWorkflowStarter(sfnClient(), config.stateMachineArn()));
export const objectCopier = /* @__PURE__ */ once(() => new S3ObjectCopier(s3Client(), config.imagesBucket(), copySettingsFromEnv()));
export const imageFileConverter = /* @__PURE__ */ once(() => new S3ImageFileConverter(s3Client(), config.imagesBucket()));
export const provisionStarter = /* @__PURE__ */ once(() => new SfnProvisionStarter(sfnClient(), config.provisionStateMachineArn()));
export const workflowStopper = /* @__PURE__ */ once(() => new SfnWorkflowStopper(sfnClient()));
export const credentialRepository = /* @__PURE__ */ once(() => new DynamoCredentialRepository(documentClient(), config.tableName()));
export const quotaGate = /* @__PURE__ */ once(
  () => new DynamoQuotaGate(documentClient(), config.tableName(), imageRepository(), config.quotas(), clock, machineRepository()),
);
export const applianceRepository = /* @__PURE__ */ once(() => new DynamoApplianceRepository(documentClient(), config.tableName()));
export const applianceImageRepository = /* @__PURE__ */ once(
  () => new DynamoApplianceImageRepository(documentClient(), config.tableName()),
);
export const eventBridgeClient = /* @__PURE__ */ client(() => new EventBridgeClient({}));
export const jobEventPublisher = /* @__PURE__ */ once(() => new EventBridgeJobEventPublisher(eventBridgeClient(), config.eventBusName()));
