/**
 * Request validation in the synthesized API (lib/constructs/http-api.ts, lambdas/openapi/request-models.ts):
 * one body-only validator; a draft-4 model exactly on the routes whose dialect answers a body that is
 * not JSON as the BAD_REQUEST_BODY gateway response does (Triton's required JSON bodies); and the local
 * stack reads the same models from the template (lib/local-template.ts).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { routes } from '../../lambdas/routes';
import { OPERATION_DOCS } from '../../lambdas/openapi/operations';
import { MODELLED_OPERATIONS, modelContentType } from '../../lambdas/openapi/request-models';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { cdkContext } from '../../lib/cdk-context';
import { templateRoutes } from '../../lib/local-template';
import { GATEWAY_RESPONSES } from '../../lib/gateway-responses';
import { bodyRefusal } from '../../local/body-validation';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const app = new App({ context: cdkContext({ 'aws:cdk:bundling-stacks': [] }) });
const stack = new ImageServiceStack(app, 'RequestValidationTest');
const template = Template.fromStack(stack).toJSON();
const resources = template.Resources as Resources;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('request validation', () => {
  it('models exactly the Triton routes with a required JSON body', () => {
    const expected = routes
      .filter((r) => r.dialect === 'triton' && OPERATION_DOCS[r.operation]?.body?.required === true)
      .map((r) => r.operation);
    expect(expected.length).toBeGreaterThan(0);
    expect([...MODELLED_OPERATIONS].sort()).toEqual(expected.sort());
  });

  it('has one body-only validator, and each modelled method uses it with an application/json draft-4 model', () => {
    const validators = ofType('AWS::ApiGateway::RequestValidator');
    expect(validators.map(([, r]) => r.Properties)).toEqual([
      expect.objectContaining({ ValidateRequestBody: true, ValidateRequestParameters: false }),
    ]);
    const methods = ofType('AWS::ApiGateway::Method').filter(([, r]) => r.Properties.RequestModels);
    expect(methods.map(([, r]) => r.Properties.OperationName).sort()).toEqual([...MODELLED_OPERATIONS].sort());
    for (const [, m] of methods) {
      expect(m.Properties.RequestValidatorId).toEqual({ Ref: validators[0][0] });
      const model = resources[m.Properties.RequestModels['application/json'].Ref];
      expect(model.Type).toBe('AWS::ApiGateway::Model');
      expect(model.Properties).toMatchObject({
        ContentType: 'application/json',
        Schema: { $schema: 'http://json-schema.org/draft-04/schema#' },
      });
    }
  });

  it('answers a refused body with the BAD_REQUEST_BODY gateway response: 400, Triton’s BadRequest', () => {
    const response = ofType('AWS::ApiGateway::GatewayResponse').find(([, r]) => r.Properties.ResponseType === 'BAD_REQUEST_BODY');
    expect(response?.[1].Properties.StatusCode).toBe('400');
    expect(GATEWAY_RESPONSES.BAD_REQUEST_BODY).toMatchObject({ status: 400, code: 'BadRequest' });
  });

  it('gives the local gateway the same models, which refuse only bodies that are not JSON, by content type', () => {
    const local = templateRoutes(template);
    const withModels = [...local.values()].filter((r) => r.bodyModels).map((r) => r.operation);
    expect(withModels.sort()).toEqual([...MODELLED_OPERATIONS].sort());
    const models = local.get(MODELLED_OPERATIONS[0])!.bodyModels;
    expect(bodyRefusal(models, 'application/json', Buffer.from('{"machine": '))).toMatch(/Invalid request body/);
    expect(bodyRefusal(models, undefined, Buffer.from('not json'))).toMatch(/Invalid request body/);
    for (const ok of ['[]', '"x"', '{"name": 42}', 'null'])
      expect(bodyRefusal(models, 'application/json; charset=utf-8', Buffer.from(ok))).toBeUndefined();
    expect(bodyRefusal(models, 'text/plain', Buffer.from('{"machine": '))).toBeUndefined();
    expect(bodyRefusal(models, 'application/json', Buffer.alloc(0))).toBeUndefined();
    expect(modelContentType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(modelContentType(undefined)).toBe('application/json');
  });
});
