/**
 * The stack stays well under CloudFormation's 500-resource limit as routes are added
 * (docs/decisions/stack-size.md): the count is printed and bounded, and what a route costs is bounded
 * by construction — no role, policy or Lambda permission of its own.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { routes } from '../../lambdas/routes';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { cdkContext } from '../../lib/cdk-context';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const MAX_RESOURCES = 400;

const app = new App({ context: cdkContext({ 'aws:cdk:bundling-stacks': [] }) });
const stack = new ImageServiceStack(app, 'StackSizeTest');
const resources = Template.fromStack(stack).toJSON().Resources as Resources;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('stack size', () => {
  it(`has at most ${MAX_RESOURCES} resources`, () => {
    const byType: Record<string, number> = {};
    for (const r of Object.values(resources)) byType[r.Type] = (byType[r.Type] ?? 0) + 1;
    const total = Object.keys(resources).length;
    console.log(
      `${total} CloudFormation resources (${routes.length} routes; limit ${MAX_RESOURCES}, CloudFormation's 500)\n${JSON.stringify(byType, null, 1)}`,
    );
    expect(total).toBeLessThanOrEqual(MAX_RESOURCES);
  });

  it('gives no route a role of its own: the number of execution roles does not grow with the route table', () => {
    const functionRoles = new Set(ofType('AWS::Lambda::Function').map(([, fn]) => JSON.stringify(fn.Properties.Role)));
    const routeRoles = new Set(
      routes.map((r) =>
        JSON.stringify(resources[stack.getLogicalId(stack.api.functions[r.operation].node.defaultChild as never)].Properties.Role),
      ),
    );
    expect(routeRoles.size).toBeLessThanOrEqual(8);
    expect(functionRoles.size).toBeLessThan(ofType('AWS::Lambda::Function').length / 3);
  });

  it('lets API Gateway invoke route functions through one credentials role per dialect, with no Lambda permission per method', () => {
    const methods = ofType('AWS::ApiGateway::Method');
    const invokeRoles = new Set(methods.map(([, m]) => JSON.stringify(m.Properties.Integration.Credentials)));
    expect(invokeRoles.size).toBe(new Set(routes.map((r) => r.dialect)).size);
    for (const [, m] of methods)
      expect(m.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY', Credentials: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
    // Only the authorizer and the EventBridge rules' targets keep a resource policy.
    const permissions = ofType('AWS::Lambda::Permission').map(([, p]) => p.Properties.Principal);
    expect(permissions.filter((p) => p === 'apigateway.amazonaws.com')).toHaveLength(1);
    expect(permissions.filter((p) => p !== 'apigateway.amazonaws.com').length).toBe(ofType('AWS::Events::Rule').length);
  });

  it('lets each invoke role call exactly its dialect’s route functions', () => {
    for (const [roleId] of ofType('AWS::IAM::Role').filter(([id]) => /^ApiInvoke/.test(id))) {
      const dialect = routes.find((r) => roleId.toLowerCase().startsWith(`apiinvoke${r.dialect}routes`))!.dialect;
      const expected = [
        ...new Set(
          routes
            .filter((r) => r.dialect === dialect)
            .map((r) => stack.getLogicalId(stack.api.functions[r.operation].node.defaultChild as never)),
        ),
      ];
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      expect(statements.every((s: { Action: string }) => s.Action === 'lambda:InvokeFunction')).toBe(true);
      const invoked = statements.flatMap((s: { Resource: unknown }) => [s.Resource].flat()).map((r: any) => r['Fn::GetAtt'][0]);
      expect(invoked.sort()).toEqual(expected.sort());
    }
  });
});
