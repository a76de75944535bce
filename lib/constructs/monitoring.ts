/**
 * What an operator is told, and what they look at (plain CDK: aws-cloudwatch, no construct library):
 *
 * - one SNS topic for every alarm (stack output `AlarmTopicArn`; CDK context `alarmEmail` subscribes an
 *   address), alarms and their return to OK both notify it;
 * - alarms: each state machine's executions failed / timed out / aborted; Lambda errors and throttles;
 *   API 5XX and p99 latency; DynamoDB throttled reads and writes (table and indexes); the dead-letter
 *   queues' depth; and the age of the oldest image still `creating`, emitted every five minutes by
 *   `lambdas/ops/oldest-creating.ts` from the sparse GSI4;
 * - one dashboard (`DashboardName` output) with the same metrics and the service's own (Powertools
 *   Metrics, namespace MachineImageService, dimension service): ImagesCreated, ImagesFailed, BuildBytes,
 *   BuildSeconds, AuthFailures by Scheme, OldestCreatingImageAgeSeconds.
 *
 * Lambda errors and throttles are alarmed on the region's aggregate (AWS/Lambda without dimensions, what
 * `Function.metricAllErrors` reads): an alarm's metric math takes at most ten metrics, the stack has
 * sixty functions. Deploy the service in its own account (or accept that other functions count);
 * the dashboard breaks them down per function of this stack.
 */
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Function as LambdaFn } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { INDEXES } from '../../lambdas/adapters/dynamodb/table';
import { METRIC_NAMESPACE, METRIC_SERVICE, OLDEST_CREATING_METRIC } from '../../lambdas/ops/metric-names';
import { STATE_MACHINE_TIMEOUT } from './build-workflow';
import type { Data } from './data';
import { createServiceFunction } from './service-function';

export const OLDEST_CREATING_ENTRY = 'ops/oldest-creating.ts';

/** The service's own metrics (Powertools Metrics in lambdas/), dimension `service` unless said. */
export const SERVICE_METRICS = {
  ImagesCreated: 'Count',
  ImagesFailed: 'Count',
  BuildBytes: 'Bytes',
  BuildSeconds: 'Seconds',
  OldestCreatingImageAgeSeconds: 'Seconds',
} as const;
/** AuthFailures (Count) carries `Scheme` beside `service`. */
export const AUTH_FAILURES_METRIC = 'AuthFailures';

/** Alarm thresholds (README, "Monitoring"). */
export const THRESHOLDS = {
  /** Failed executions in 15 minutes: a single failed build is often the source's fault; a few are not. */
  executionsFailed: 3,
  /** Timed-out executions in 5 minutes: a timeout is never normal. */
  executionsTimedOut: 1,
  /** Aborted executions in an hour: cancels abort executions, a burst of them is not ordinary. */
  executionsAborted: 10,
  /** Lambda errors (all functions) in 5 minutes, two periods running. */
  lambdaErrors: 5,
  lambdaThrottles: 1,
  /** API 5XX responses in 5 minutes, two periods running. */
  api5xx: 5,
  /** p99 latency of the API in ms, three 5-minute periods running (the integration times out at 29 s). */
  apiLatencyP99Ms: 10_000,
  dynamoThrottles: 1,
  /** A build cannot run longer than its state machine's timeout; half an hour more is stuck. */
  oldestCreatingSeconds: STATE_MACHINE_TIMEOUT.toSeconds() + 30 * 60,
} as const;

export interface MonitoringProps {
  data: Data;
  api: RestApi;
  /** The state machines, by a short name for alarm and widget titles. */
  stateMachines: Record<string, StateMachine>;
  /** Dead-letter queues whose depth is alarmed, by name. */
  deadLetterQueues: Record<string, Queue>;
  /** Subscribed to the alarm topic. @default the CDK context key `alarmEmail`, else none */
  alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Record<string, Alarm> = {};
  readonly dashboard: Dashboard;
  readonly oldestCreatingFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { data, api } = props;
    const stack = Stack.of(this);

    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'machine-image-service alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and metric values, no service data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key (with a key policy for CloudWatch) is not worth it for that.',
    });
    const email = props.alarmEmail ?? (this.node.tryGetContext('alarmEmail') as string | undefined);
    if (email) {
      const subscription = this.topic.addSubscription(new EmailSubscription(email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'SNS retries an email it cannot deliver; the alarm stays visible on the dashboard and in CloudWatch. A dead-letter queue here would be watched by an alarm notifying this same topic.',
      });
    }
    const action = new SnsAction(this.topic);

    const alarm = (
      name: string,
      metric: IMetric,
      threshold: number,
      opts: { evaluationPeriods?: number; description: string; missing?: TreatMissingData },
    ) => {
      const a = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: opts.evaluationPeriods ?? 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: opts.missing ?? TreatMissingData.NOT_BREACHING,
        alarmDescription: opts.description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms[name] = a;
      return a;
    };

    // Workflows
    for (const [name, sm] of Object.entries(props.stateMachines)) {
      alarm(
        `${name}ExecutionsFailed`,
        sm.metricFailed({ period: Duration.minutes(15), statistic: Stats.SUM }),
        THRESHOLDS.executionsFailed,
        {
          description: `${name} executions failed (the jobs record why; the execution-ended handler cleans up)`,
        },
      );
      alarm(
        `${name}ExecutionsTimedOut`,
        sm.metricTimedOut({ period: Duration.minutes(5), statistic: Stats.SUM }),
        THRESHOLDS.executionsTimedOut,
        {
          description: `${name} executions reached the state machine's timeout`,
        },
      );
      alarm(
        `${name}ExecutionsAborted`,
        sm.metricAborted({ period: Duration.hours(1), statistic: Stats.SUM }),
        THRESHOLDS.executionsAborted,
        {
          description: `${name} executions stopped (cancels stop them too: this is a burst beyond ordinary cancels)`,
        },
      );
    }

    // Lambda (region aggregate, see above)
    alarm('LambdaErrors', LambdaFn.metricAllErrors({ period: Duration.minutes(5), statistic: Stats.SUM }), THRESHOLDS.lambdaErrors, {
      evaluationPeriods: 2,
      description: 'Lambda function errors (all functions of the region) in two 5-minute periods running',
    });
    alarm(
      'LambdaThrottles',
      LambdaFn.metricAllThrottles({ period: Duration.minutes(5), statistic: Stats.SUM }),
      THRESHOLDS.lambdaThrottles,
      {
        description: 'Lambda invocations throttled (concurrency exhausted)',
      },
    );

    // API
    alarm('Api5xx', api.metricServerError({ period: Duration.minutes(5), statistic: Stats.SUM }), THRESHOLDS.api5xx, {
      evaluationPeriods: 2,
      description: 'API 5XX responses (a handler failed or timed out) in two 5-minute periods running',
    });
    alarm('ApiLatencyP99', api.metricLatency({ period: Duration.minutes(5), statistic: Stats.p(99) }), THRESHOLDS.apiLatencyP99Ms, {
      evaluationPeriods: 3,
      description: 'API p99 latency over 10 s for 15 minutes',
    });

    // DynamoDB: table, and each index (throttled index writes also throttle the table's writes)
    const throttles = (dims: Record<string, string>) => ({
      read: new Metric({
        namespace: 'AWS/DynamoDB',
        metricName: 'ReadThrottleEvents',
        dimensionsMap: dims,
        statistic: Stats.SUM,
        period: Duration.minutes(5),
      }),
      write: new Metric({
        namespace: 'AWS/DynamoDB',
        metricName: 'WriteThrottleEvents',
        dimensionsMap: dims,
        statistic: Stats.SUM,
        period: Duration.minutes(5),
      }),
    });
    const tableName = data.table.tableName;
    const tableThrottles = throttles({ TableName: tableName });
    alarm(
      'DynamoTableThrottles',
      new MathExpression({
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: { r: tableThrottles.read, w: tableThrottles.write },
        label: 'table throttle events',
        period: Duration.minutes(5),
      }),
      THRESHOLDS.dynamoThrottles,
      {
        description: 'DynamoDB throttled reads or writes on the table',
      },
    );
    const indexMetrics: Record<string, Metric> = {};
    Object.values(INDEXES).forEach((index, i) => {
      const t = throttles({ TableName: tableName, GlobalSecondaryIndexName: index.name });
      indexMetrics[`r${i}`] = t.read;
      indexMetrics[`w${i}`] = t.write;
    });
    if (Object.keys(indexMetrics).length > 10) throw new Error('one alarm takes at most 10 metrics: split the index throttle alarm');
    alarm(
      'DynamoIndexThrottles',
      new MathExpression({
        expression: Object.keys(indexMetrics)
          .map((k) => `FILL(${k}, 0)`)
          .join(' + '),
        usingMetrics: indexMetrics,
        label: 'index throttle events',
        period: Duration.minutes(5),
      }),
      THRESHOLDS.dynamoThrottles,
      {
        description: 'DynamoDB throttled reads or writes on a global secondary index',
      },
    );

    // Dead letters: every message is an event nothing processed
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `${name}DeadLettersDepth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
        1,
        {
          description: `Messages in the ${name} dead-letter queue: events that were not processed (see docs/decisions/stuck-executions.md)`,
        },
      );
    }

    // The oldest image still `creating`, every five minutes
    const opsDeadLetters = new Queue(this, 'OpsDeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    for (const nagId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(opsDeadLetters).acknowledge({
        id: nagId,
        reason: 'This queue is the dead-letter queue of the scheduled check; an alarm watches its depth.',
      });
    }
    this.oldestCreatingFunction = createServiceFunction(this, 'OldestCreating', {
      entry: OLDEST_CREATING_ENTRY,
      roleKey: 'OpsOldestCreating',
      invocation: 'async',
      deadLetterQueue: opsDeadLetters,
      description: 'Emits OldestCreatingImageAgeSeconds: the age of the oldest image in state creating',
      environment: data.environment,
    });
    data.grantItemsRead(this.oldestCreatingFunction);
    new Rule(this, 'OldestCreatingSchedule', {
      description: 'Every five minutes: the age of the oldest creating image',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [
        new LambdaFunction(this.oldestCreatingFunction, {
          deadLetterQueue: opsDeadLetters,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(10),
        }),
      ],
    });
    alarm(
      'OpsDeadLettersDepth',
      opsDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
      1,
      {
        description: 'The scheduled oldest-creating check could not run',
      },
    );
    const oldestCreating = serviceMetric(OLDEST_CREATING_METRIC, Stats.MAXIMUM, Duration.minutes(15));
    alarm('OldestCreatingImage', oldestCreating, THRESHOLDS.oldestCreatingSeconds, {
      // no datapoint means the check itself is broken (it emits 0 when nothing is being created)
      missing: TreatMissingData.BREACHING,
      description: 'An image has been creating longer than the build workflow can run: a stuck build (lambdas/ops/oldest-creating.ts)',
    });

    // Dashboard
    const period = Duration.minutes(5);
    const perFunction = (metricName: string) =>
      new MathExpression({
        expression: `SEARCH('{AWS/Lambda,FunctionName} MetricName="${metricName}" "${stack.stackName}-"', 'Sum', 300)`,
        usingMetrics: {},
        label: '',
        period,
      });
    const sm = Object.entries(props.stateMachines);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new TextWidget({
            markdown: '# machine-image-service\nAlarms notify the AlarmTopicArn output. Service metrics: namespace `MachineImageService`.',
            width: 24,
            height: 2,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 4 })],
        [
          new GraphWidget({
            title: 'API requests and errors',
            left: [
              api.metricCount({ period, statistic: Stats.SUM }),
              api.metricClientError({ period, statistic: Stats.SUM }),
              api.metricServerError({ period, statistic: Stats.SUM }),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: 'API latency (ms)',
            left: [
              api.metricLatency({ period, statistic: Stats.p(50) }),
              api.metricLatency({ period, statistic: Stats.p(99) }),
              api.metricIntegrationLatency({ period, statistic: Stats.p(99) }),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: 'Auth failures by scheme',
            left: [
              new MathExpression({
                expression: `SEARCH('{${METRIC_NAMESPACE},Scheme,service} MetricName="${AUTH_FAILURES_METRIC}"', 'Sum', 300)`,
                usingMetrics: {},
                label: '',
                period,
              }),
            ],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Images created / failed',
            left: [serviceMetric('ImagesCreated', Stats.SUM, period), serviceMetric('ImagesFailed', Stats.SUM, period)],
            width: 8,
          }),
          new GraphWidget({
            title: 'Build bytes and seconds',
            left: [serviceMetric('BuildBytes', Stats.SUM, period)],
            right: [serviceMetric('BuildSeconds', Stats.p(90), period), serviceMetric('BuildSeconds', Stats.MAXIMUM, period)],
            width: 8,
          }),
          new SingleValueWidget({ title: 'Oldest creating image (s)', metrics: [oldestCreating], width: 8 }),
        ],
        sm.map(
          ([name, machine]) =>
            new GraphWidget({
              title: `${name} executions`,
              left: [
                machine.metricStarted({ period, statistic: Stats.SUM }),
                machine.metricSucceeded({ period, statistic: Stats.SUM }),
                machine.metricFailed({ period, statistic: Stats.SUM }),
                machine.metricTimedOut({ period, statistic: Stats.SUM }),
                machine.metricAborted({ period, statistic: Stats.SUM }),
              ],
              width: 24 / sm.length,
            }),
        ),
        [
          new GraphWidget({ title: 'Lambda errors by function (this stack)', left: [perFunction('Errors')], width: 8 }),
          new GraphWidget({ title: 'Lambda throttles by function (this stack)', left: [perFunction('Throttles')], width: 8 }),
          new GraphWidget({
            title: 'Lambda errors and throttles (region)',
            left: [
              LambdaFn.metricAllErrors({ period, statistic: Stats.SUM }),
              LambdaFn.metricAllThrottles({ period, statistic: Stats.SUM }),
            ],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'DynamoDB consumed capacity',
            left: [
              new Metric({
                namespace: 'AWS/DynamoDB',
                metricName: 'ConsumedReadCapacityUnits',
                dimensionsMap: { TableName: tableName },
                statistic: Stats.SUM,
                period,
              }),
              new Metric({
                namespace: 'AWS/DynamoDB',
                metricName: 'ConsumedWriteCapacityUnits',
                dimensionsMap: { TableName: tableName },
                statistic: Stats.SUM,
                period,
              }),
            ],
            width: 12,
          }),
          new GraphWidget({ title: 'DynamoDB throttle events', left: [tableThrottles.read, tableThrottles.write], width: 12 }),
        ],
      ],
    });

    new CfnOutput(scope, 'AlarmTopicArn', { value: this.topic.topicArn, description: 'SNS topic every alarm notifies' });
    new CfnOutput(scope, 'DashboardName', { value: this.dashboard.dashboardName, description: 'CloudWatch dashboard of the service' });
  }
}

function serviceMetric(metricName: string, statistic: string, period: Duration): Metric {
  return new Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap: { service: METRIC_SERVICE }, statistic, period });
}
