/**
 * The authorizer's share of the stack: refusals are gateway responses with the JSON body the local
 * gateway also sends, and the authorizer may only read items and update the wrong-password counter.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { gatewayResponseTemplate } from '../../lib/gateway-responses';

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

  it('lets the authorizer read items and update (never put, delete or scan) them', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('Authorizer') }]) },
    });
    const actions = Object.values(policies).flatMap((p) =>
      (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement.flatMap((s) => s.Action),
    );
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) expect(actions).not.toContain(forbidden);
  });
});
