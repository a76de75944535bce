/**
 * The authorizer's share of the stack: refusals are gateway responses with the JSON body the local
 * gateway also sends, and the authorizer may only read items and update the wrong-password counter.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { gatewayResponseTemplate } from '../../lib/gateway-responses';
import { keys, TTL_ATTRIBUTE } from '../../lambdas/adapters/dynamodb/table';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new ImageServiceStack(app, 'AuthTest');
const template = Template.fromStack(stack);

describe('Authentication in the stack', () => {
  it.each([
    ['UNAUTHORIZED', '401', 'InvalidCredentials'],
    ['ACCESS_DENIED', '403', 'NotAuthorized'],
  ] as const)('answers %s with %s and a {code:"%s"} body', (type, status, code) => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: status,
      ResponseTemplates: { 'application/json': gatewayResponseTemplate(type) },
    });
    expect(gatewayResponseTemplate(type)).toContain(`"code":"${code}"`);
    expect(gatewayResponseTemplate(type)).toContain('"request_id":"$context.requestId"');
  });

  it.each([
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'ResourceNotFound'],
    ['THROTTLED', '429', 'RequestThrottled'],
    ['INTEGRATION_TIMEOUT', '504', 'GatewayTimeout'],
  ] as const)('answers %s with %s and the shared body {code:"%s", error_code, error_msg}', (type, status, code) => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: status,
      ResponseTemplates: { 'application/json': gatewayResponseTemplate(type) },
    });
    const body = JSON.parse(gatewayResponseTemplate(type).replace('$context.requestId', 'r'));
    expect(body).toEqual({
      code,
      message: expect.any(String),
      error_code: expect.stringMatching(/^APIGW\./),
      error_msg: body.message,
      request_id: 'r',
      statusCode: Number(status),
    });
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'] as const)('answers %s with the original status and the shared body', (type) => {
    const found = template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } });
    const [resource] = Object.values(found) as { Properties: Record<string, unknown> }[];
    expect(resource.Properties.StatusCode).toBeUndefined();
    expect(JSON.parse(gatewayResponseTemplate(type).replace('$context.requestId', 'r'))).toEqual({
      code: expect.any(String),
      message: expect.any(String),
      error_code: expect.any(String),
      error_msg: expect.any(String),
      request_id: 'r',
    });
  });

  it('lets the authorizer GetItem on the table, and UpdateItem only the lockout counters and password items (dynamodb:LeadingKeys)', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('Authorizer') }]) },
    });
    type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };
    const statements = Object.values(policies).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    const dynamo = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    const tableArn = { 'Fn::GetAtt': [expect.stringMatching(/Table/), 'Arn'] };
    expect(dynamo).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: tableArn },
        {
          Effect: 'Allow',
          Action: 'dynamodb:UpdateItem',
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['THROTTLE#*', 'CRED#*'] } },
        },
      ]),
    );
    expect(dynamo).toHaveLength(2); // nothing else: no Query, no index, no Put/Delete/Scan
    // the prefixes are the keys the authorizer writes
    expect(keys.loginThrottle('1.2.3.4', 'alice').PK.startsWith('THROTTLE#')).toBe(true);
    expect(keys.password('acc').PK.startsWith('CRED#')).toBe(true);
    // and no other item's key starts with them
    for (const [name, fn] of Object.entries(keys)) {
      if (name === 'loginThrottle' || name === 'password') continue;
      const k = (fn as (...a: string[]) => { PK: string } | string)('x', 'y');
      const pk = typeof k === 'string' ? k : k.PK;
      expect([name, /^(THROTTLE|CRED)#/.test(pk)]).toEqual([name, false]);
    }
  });

  it('gives the authorizer the memory (and so the CPU) scrypt at N=2^17 needs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Request authorizer'),
      MemorySize: 1024,
    });
  });

  it('lets the authorizer read items and update (never put, delete or scan) them', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('Authorizer') }]) },
    });
    const actions = Object.values(policies).flatMap((p) =>
      (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement.flatMap(
        (s) => s.Action,
      ),
    );
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) expect(actions).not.toContain(forbidden);
  });
});

describe('Expiring items', () => {
  it('the table has TTL on `ttl` (tokens, idempotency records), the attribute tokens and lockout counters carry', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
    expect(TTL_ATTRIBUTE).toBe('ttl');
  });
});
