/**
 * The one stack of the service (docs/architecture.md §2). It composes constructs and declares outputs, nothing else:
 * data (table, buckets) → build workflow and provisioning workflow (state machines and their task
 * functions) → HTTP API (route functions, authorizer) → web console (S3 + CloudFront, the API as its
 * second origin).
 */
import { CfnOutput, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BuildWorkflow } from './constructs/build-workflow';
import { Data } from './constructs/data';
import { ExecutionFailures } from './constructs/execution-failures';
import { JobEvents } from './constructs/job-events';
import { ServiceApi } from './constructs/http-api';
import { ProvisionWorkflow } from './constructs/provision-workflow';
import { WebConsole } from './constructs/console';
import { Monitoring } from './constructs/monitoring';
import type { ChunkingSettings } from '../lambdas/workflow/chunked';
import type { QuotaLimits } from '../lambdas/core/quota';

export interface ImageServiceStackProps extends StackProps {
  /** For the table and buckets. @default RETAIN */
  dataRemovalPolicy?: RemovalPolicy;
  /** Subscribed to the alarm topic; also read from the CDK context key `alarmEmail`. @default none */
  alarmEmail?: string;
  /** Chunked builds (threshold, range size, …); also read from the CDK context key `chunking`. @default DEFAULT_CHUNKING */
  chunking?: Partial<ChunkingSettings>;
  /** Per-account quotas; also read from the CDK context key `quotas` (JSON). @default DEFAULT_QUOTAS (lambdas/core/quota.ts) */
  quotas?: Partial<QuotaLimits>;
  /**
   * Clones and IMS exports of files at least this large run in the build workflow, not the request; also
   * read from the CDK context key `copyWorkflowThresholdBytes`. @default 1 GiB (lambdas/wiring.ts)
   */
  copyWorkflowThresholdBytes?: number;
}

/** A context value given as JSON on the command line (`-c quotas='{"images":500}'`) or as an object in cdk.json. */
function contextValue<T>(stack: Stack, key: string): T | undefined {
  const v = stack.node.tryGetContext(key) as unknown;
  if (typeof v !== 'string') return v as T | undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new Error(`context key ${key}: not JSON: ${v}`);
  }
}

/** Output ids; the local stack and scripts read these names from the stack's outputs. */
export const STACK_OUTPUTS = [
  'ApiUrl',
  'TableName',
  'ImagesBucketName',
  'DisksBucketName',
  'StateMachineArn',
  'ProvisionStateMachineArn',
  'ConsoleUrl',
  'EventBusName',
  'AlarmTopicArn',
  'DashboardName',
] as const;

export class ImageServiceStack extends Stack {
  readonly data: Data;
  readonly workflow: BuildWorkflow;
  readonly api: ServiceApi;
  readonly provisioning: ProvisionWorkflow;
  readonly console: WebConsole;
  readonly jobEvents: JobEvents;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: ImageServiceStackProps = {}) {
    super(scope, id, props);
    this.data = new Data(this, 'Data', { removalPolicy: props.dataRemovalPolicy });
    const chunking = props.chunking ?? (this.node.tryGetContext('chunking') as Partial<ChunkingSettings> | undefined);
    this.workflow = new BuildWorkflow(this, 'BuildWorkflow', { data: this.data, chunking });
    this.provisioning = new ProvisionWorkflow(this, 'ProvisionWorkflow', { data: this.data, chunking });
    this.api = new ServiceApi(this, 'Api', {
      data: this.data,
      stateMachine: this.workflow.stateMachine,
      provisionStateMachine: this.provisioning.stateMachine,
      settings: {
        quotas: props.quotas ?? contextValue<Partial<QuotaLimits>>(this, 'quotas'),
        copyWorkflowThresholdBytes: props.copyWorkflowThresholdBytes ?? contextValue<number>(this, 'copyWorkflowThresholdBytes'),
      },
    });
    // Ends the builds of executions that stopped, timed out or failed outside their Catch path (every state machine of the stack).
    const executionFailures = new ExecutionFailures(this, 'ExecutionFailures', { data: this.data });
    // Every job transition, from the table's stream, on the stack's event bus (output EventBusName).
    this.jobEvents = new JobEvents(this, 'JobEvents', { data: this.data });

    this.console = new WebConsole(this, 'Console', { api: this.api.restApi, accessLogsBucket: this.data.accessLogsBucket }); // outputs ConsoleUrl

    // Alarms on an SNS topic and one dashboard (outputs AlarmTopicArn, DashboardName).
    this.monitoring = new Monitoring(this, 'Monitoring', {
      data: this.data,
      api: this.api.restApi,
      stateMachines: { Build: this.workflow.stateMachine, Provision: this.provisioning.stateMachine },
      deadLetterQueues: { ExecutionEnded: executionFailures.deadLetterQueue, JobEvents: this.jobEvents.deadLetterQueue },
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.restApi.url });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'ImagesBucketName', { value: this.data.imagesBucket.bucketName });
    new CfnOutput(this, 'DisksBucketName', { value: this.data.disksBucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ProvisionStateMachineArn', { value: this.provisioning.stateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: this.jobEvents.bus.eventBusName });
  }
}
