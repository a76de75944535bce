/**
 * No stuck work, in the template: one EventBridge rule takes the FAILED, TIMED_OUT and ABORTED status
 * events of every state machine of the stack and targets the execution-ended function, which may
 * clean up image files and fail images and jobs; failed deliveries end in a dead-letter queue.
 * Also what the local stack reads from this template (lib/local-template.ts): every limit it enforces
 * is the template's own number.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { routes, BUILD_TASKS, taskEntry } from '../../lambdas/routes';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { localDefinitionFromTemplate, type CfnTemplate } from '../../lib/local-asl';
import { EXECUTION_ENDED_ENTRY } from '../../lib/constructs/execution-failures';
import { gatewayResponseTemplate } from '../../lib/gateway-responses';
import { cdkContext } from '../../lib/cdk-context';
import {
  DEFAULT_INTEGRATION_TIMEOUT_MS,
  taskStateFunctions,
  templateAuthorizer,
  templateRoutes,
  templateRules,
} from '../../lib/local-template';

const app = new App({ context: cdkContext({ 'aws:cdk:bundling-stacks': [] }) });
const stack = new ImageServiceStack(app, 'ExecutionFailuresTest');
const template = Template.fromStack(stack);
const json = template.toJSON() as CfnTemplate;
type Res = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, unknown> };
const resources = json.Resources as Record<string, Res>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('the execution-status rule', () => {
  const stateMachines = ofType('AWS::StepFunctions::StateMachine').map(([id]) => id);
  // the one rule with an event pattern (the other is lib/constructs/monitoring.ts's schedule)
  const patternRules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern !== undefined);
  const [ruleId, rule] = patternRules[0];

  it('takes FAILED, TIMED_OUT and ABORTED status changes of every state machine in the stack', () => {
    expect(patternRules).toHaveLength(1);
    expect(stateMachines.length).toBeGreaterThanOrEqual(1);
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: stateMachines.map((id) => ({ Ref: id })) },
    });
  });

  it('targets the execution-ended function, with a dead-letter queue and retries', () => {
    const target = rule.Properties.Targets[0];
    const fnId = target.Arn['Fn::GetAtt'][0];
    expect(resources[fnId]).toMatchObject({
      Type: 'AWS::Lambda::Function',
      Metadata: { 'machine-image-service:entry': EXECUTION_ENDED_ENTRY },
    });
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 86_400 },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('lets the function empty image prefixes, abort uploads and write items (no Scan)', () => {
    const fnId = rule.Properties.Targets[0].Arn['Fn::GetAtt'][0];
    const roleRef = resources[fnId].Properties.Role['Fn::GetAtt'][0];
    const actions = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleRef))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['s3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListBucketMultipartUploads', 'dynamodb:UpdateItem']),
    );
    expect(actions).not.toContain('dynamodb:Scan');
  });
});

describe('the integration timeout', () => {
  it('answers 504 with the same body as the local gateway (INTEGRATION_TIMEOUT gateway response)', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INTEGRATION_TIMEOUT',
      StatusCode: '504',
      ResponseTemplates: { 'application/json': gatewayResponseTemplate('INTEGRATION_TIMEOUT') },
    });
  });
});

describe('what the local stack reads from the template', () => {
  const fnProps = (id: string) => resources[id].Properties;

  it("gives every route its own function's timeout and API Gateway's integration timeout", () => {
    const found = templateRoutes(json);
    expect([...found.keys()].sort()).toEqual(routes.map((r) => r.operation).sort());
    for (const route of routes) {
      const r = found.get(route.operation)!;
      expect(r.fn.entry).toBe(route.entry);
      expect(r.fn.timeoutSeconds).toBe(fnProps(r.fn.logicalId).Timeout);
      expect(r.integrationTimeoutMs).toBe(DEFAULT_INTEGRATION_TIMEOUT_MS);
    }
  });

  it("finds the authorizer's function", () => {
    const fn = templateAuthorizer(json);
    expect(fn).toMatchObject({ entry: 'auth/authorizer.ts', timeoutSeconds: fnProps(fn.logicalId).Timeout });
  });

  it('maps every Task state to its function, with that function’s timeout', () => {
    const { definition, taskStates } = localDefinitionFromTemplate(json);
    const fns = taskStateFunctions(json, definition);
    expect([...fns.keys()].sort()).toEqual([...taskStates].sort());
    for (const state of BUILD_TASKS) {
      const fn = fns.get(state)!;
      expect(fn.entry).toBe(taskEntry(state));
      expect(fn.timeoutSeconds).toBe(fnProps(fn.logicalId).Timeout);
    }
    expect(fns.get('BuildImageFile')!.timeoutSeconds).toBe(900);
  });

  it('resolves the rule to the ARNs of both local state machines (build and provisioning) and its target function', () => {
    const build = localDefinitionFromTemplate(json).stateMachineLogicalId;
    const provision = localDefinitionFromTemplate(json, { workflow: 'ProvisionWorkflow' }).stateMachineLogicalId;
    const arns = {
      [build]: 'arn:aws:states:us-east-1:000000000000:stateMachine:Build',
      [provision]: 'arn:aws:states:us-east-1:000000000000:stateMachine:Provision',
    };
    const [rule] = templateRules(json, { arns });
    expect(rule.pattern).toMatchObject({ detail: { stateMachineArn: expect.arrayContaining(Object.values(arns)) } });
    expect((rule.pattern as { detail: { stateMachineArn: string[] } }).detail.stateMachineArn).toHaveLength(2);
    expect(rule.targets).toEqual([expect.objectContaining({ entry: EXECUTION_ENDED_ENTRY, timeoutSeconds: 300 })]);
  });
});
