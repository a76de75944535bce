/**
 * What a platform team checks before running the stack (lib/constructs/monitoring.ts, lib/nag.ts):
 * cdk-nag's AwsSolutions and Serverless packs find nothing unacknowledged, every acknowledgement
 * carries a reason, X-Ray traces the functions, the state machines and the API stage, the buckets log
 * access, and the alarms exist with their metrics on one SNS topic.
 * Synthesized once, through the CDK validation plugins, with cdk.json's feature flags.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { INDEXES } from '../../lambdas/adapters/dynamodb/table';
import { cdkContext } from '../../lib/cdk-context';
import { THRESHOLDS } from '../../lib/constructs/monitoring';
import { ImageServiceStack } from '../../lib/image-service-stack';

type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any> };
interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

const outdir = mkdtempSync(path.join(tmpdir(), 'image-service-nag-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const app = new App({ outdir, context: cdkContext({ 'aws:cdk:bundling-stacks': [], alarmEmail: 'oncall@example.com' }) });
const stack = new ImageServiceStack(app, 'OperationsTest');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
let synthError: unknown;
try {
  app.synth();
} catch (err) {
  synthError = err; // a violation fails synthesis; the report says which
}
const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
  pluginReports: { pluginName: string; violations: Violation[] }[];
};
const template = JSON.parse(readFileSync(path.join(outdir, 'OperationsTest.template.json'), 'utf8')) as {
  Resources: Record<string, Resource>;
  Outputs: Record<string, unknown>;
};
const resources = template.Resources;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('cdk-nag', () => {
  it('finds no unacknowledged error or warning in the AwsSolutions and Serverless packs', () => {
    const found = report.pluginReports.flatMap((p) =>
      p.violations.map((v) => `${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`),
    );
    expect(found).toEqual([]);
    expect(synthError).toBeUndefined();
  });

  it('runs both packs (a pack that did not run would find nothing too)', () => {
    // Acknowledgements are recorded per construct; both packs' rules are among them.
    const acknowledged = JSON.stringify(
      app.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data)),
    );
    expect(acknowledged).toContain('AwsSolutions-');
    expect(acknowledged).toContain('Serverless-');
  });

  it('gives every acknowledgement a reason of its own', () => {
    const acks = app.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .map((m) => ({ path: c.node.path, data: m.data })),
      );
    expect(acks.length).toBeGreaterThan(0);
    for (const { path: at, data } of acks) {
      // one { [rule id]: reason } per acknowledgement
      for (const [id, reason] of Object.entries(data as Record<string, string>)) {
        expect({ at, id, reasonLength: String(reason).length >= 40 }).toEqual({ at, id, reasonLength: true });
      }
    }
    // None sits on the stack or the app: each is at the construct it concerns.
    expect(acks.filter((a) => a.path === stack.node.path || a.path === '')).toEqual([]);
  });
});

describe('tracing and logging', () => {
  it('traces every function of the service with X-Ray', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('Custom'));
    expect(functions.length).toBeGreaterThan(50);
    for (const [, fn] of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('traces both state machines and logs every transition without execution data', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(2);
    for (const [, sm] of machines) {
      expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    }
  });

  it('traces the API stage and logs its errors without request or response bodies', () => {
    const [[, stage]] = ofType('AWS::ApiGateway::Stage');
    expect(stage.Properties.TracingEnabled).toBe(true);
    expect(stage.Properties.MethodSettings).toEqual(
      expect.arrayContaining([expect.objectContaining({ LoggingLevel: 'ERROR', DataTraceEnabled: false })]),
    );
  });

  it('logs access to every other bucket into the access-log bucket, which expires logs', () => {
    const buckets = ofType('AWS::S3::Bucket');
    const [logBucketId, logBucket] = buckets.find(([id]) => id.startsWith('DataAccessLogs'))!;
    expect(logBucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 90 })]),
    );
    for (const [id, bucket] of buckets.filter(([id]) => id !== logBucketId)) {
      expect({ id, logging: bucket.Properties.LoggingConfiguration?.DestinationBucketName }).toEqual({ id, logging: { Ref: logBucketId } });
    }
    const [[, distribution]] = ofType('AWS::CloudFront::Distribution');
    expect(distribution.Properties.DistributionConfig.Logging).toMatchObject({
      Bucket: { 'Fn::GetAtt': [logBucketId, 'RegionalDomainName'] },
    });
  });

  it('lets function roles write only to their own functions’ log groups (no AWS managed policy)', () => {
    const functionRoles = new Set(
      ofType('AWS::Lambda::Function')
        .filter(([id]) => !id.startsWith('Custom'))
        .map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0]),
    );
    for (const roleId of functionRoles) expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    const logStatements = ofType('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('logs:PutLogEvents'));
    for (const s of logStatements) {
      for (const r of [s.Resource].flat()) expect(resources[r['Fn::GetAtt'][0]].Type).toBe('AWS::Logs::LogGroup');
    }
  });
});

describe('alarms', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const [[topicId]] = ofType('AWS::SNS::Topic');
  const byMetric = (namespace: string, metricName: string) =>
    alarms.filter(
      (a) =>
        (a.Namespace === namespace && a.MetricName === metricName) ||
        (a.Metrics ?? []).some((m: any) => m.MetricStat?.Metric.Namespace === namespace && m.MetricStat?.Metric.MetricName === metricName),
    );

  it('notify one SNS topic, which is an output and has the context key’s email subscription', () => {
    expect(alarms.length).toBeGreaterThanOrEqual(15);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.OKActions).toEqual([{ Ref: topicId }]);
    }
    expect(template.Outputs.AlarmTopicArn).toMatchObject({ Value: { Ref: topicId } });
    expect(ofType('AWS::SNS::Subscription').map(([, s]) => s.Properties)).toEqual([
      expect.objectContaining({ Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } }),
    ]);
  });

  it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'])('watch %s of both state machines', (metricName) => {
    const found = byMetric('AWS/States', metricName);
    const machines = ofType('AWS::StepFunctions::StateMachine').map(([id]) => id);
    expect(found.map((a) => a.Dimensions[0].Value.Ref).sort()).toEqual(machines.sort());
  });

  it('watch Lambda errors and throttles, API 5XX and p99 latency', () => {
    expect(byMetric('AWS/Lambda', 'Errors')).toHaveLength(1);
    expect(byMetric('AWS/Lambda', 'Throttles')).toHaveLength(1);
    expect(byMetric('AWS/ApiGateway', '5XXError')).toHaveLength(1);
    const [latency] = byMetric('AWS/ApiGateway', 'Latency');
    expect(latency).toMatchObject({ ExtendedStatistic: 'p99', Threshold: THRESHOLDS.apiLatencyP99Ms });
  });

  it('watch DynamoDB throttled reads and writes on the table and each index', () => {
    const throttleAlarms = [...byMetric('AWS/DynamoDB', 'ReadThrottleEvents'), ...byMetric('AWS/DynamoDB', 'WriteThrottleEvents')];
    const dims = new Set(
      [...new Set(throttleAlarms)].flatMap((a) =>
        a.Metrics.filter((m: any) => m.MetricStat).map(
          (m: any) =>
            `${m.MetricStat.Metric.MetricName} ${m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'GlobalSecondaryIndexName')?.Value ?? 'table'}`,
        ),
      ),
    );
    for (const on of ['table', ...Object.values(INDEXES).map((i) => i.name)]) {
      expect(dims).toContain(`ReadThrottleEvents ${on}`);
      expect(dims).toContain(`WriteThrottleEvents ${on}`);
    }
  });

  it('watch the age of the oldest creating image, breaching when the scheduled check stops reporting', () => {
    const [oldest] = byMetric('MachineImageService', 'OldestCreatingImageAgeSeconds');
    expect(oldest).toMatchObject({
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'service', Value: 'machine-image-service' }],
      TreatMissingData: 'breaching',
      Threshold: THRESHOLDS.oldestCreatingSeconds,
    });
    const [[, rule]] = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression === 'rate(5 minutes)');
    const target = rule.Properties.Targets[0];
    expect(resources[target.Arn['Fn::GetAtt'][0]].Metadata).toMatchObject({ 'machine-image-service:entry': 'ops/oldest-creating.ts' });
    expect(target.DeadLetterConfig).toBeDefined();
  });

  it('watch every dead-letter queue', () => {
    const queues = ofType('AWS::SQS::Queue').map(([id]) => id);
    const watched = byMetric('AWS/SQS', 'ApproximateNumberOfMessagesVisible').map((a) => a.Dimensions[0].Value['Fn::GetAtt'][0]);
    expect(watched.sort()).toEqual(queues.sort());
  });

  it('come with one dashboard, named in the outputs', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    expect(template.Outputs.DashboardName).toMatchObject({ Value: { Ref: dashboards[0][0] } });
    const body = JSON.stringify(dashboards[0][1].Properties.DashboardBody);
    for (const metric of [
      'ImagesCreated',
      'ImagesFailed',
      'BuildBytes',
      'BuildSeconds',
      'AuthFailures',
      'OldestCreatingImageAgeSeconds',
      'ExecutionsFailed',
      '5XXError',
      'ReadThrottleEvents',
    ]) {
      expect(body).toContain(metric);
    }
  });
});
