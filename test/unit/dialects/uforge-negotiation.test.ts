/**
 * UForge's representation is negotiated from `Accept` by @middy/http-content-negotiation in the shared
 * middy stack (lambdas/http/middleware.ts, lambdas/dialects/uforge/representation.ts): the real
 * handler of GET /users/{uid}/targetformats (no storage behind it) is invoked with each header, and
 * its answer — or its uforgeError — must come in the negotiated type. JSON bodies go through the same
 * middy JSON parser as every other route.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handler } from '../../../lambdas/dialects/uforge/handlers/list-target-formats';
import { parseUforgeBody } from '../../../lambdas/dialects/uforge/representation';
import { MalformedRequestError } from '../../../lambdas/core/errors';

const context = {
  functionName: 'UforgeListTargetFormats',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:UforgeListTargetFormats',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/UforgeListTargetFormats',
  logStreamName: 's',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

const call = async (headers: Record<string, string>, uid = 'alice'): Promise<APIGatewayProxyResult> =>
  (await (handler as unknown as (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>)(
    {
      httpMethod: 'GET',
      path: `/users/${uid}/targetformats`,
      resource: '/users/{uid}/targetformats',
      headers,
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: { uid },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: { requestId: 'gw-1', authorizer: { accountId: 'acc-1', login: 'alice', roles: '' } },
    } as unknown as APIGatewayProxyEvent,
    { ...context },
  )) as APIGatewayProxyResult;

const type = (res: APIGatewayProxyResult) => String(res.headers?.['content-type']);

describe('UForge content negotiation (middy)', () => {
  it.each([
    ['no Accept', {}, 'application/xml'],
    ['application/xml', { accept: 'application/xml' }, 'application/xml'],
    ['application/json', { accept: 'application/json' }, 'application/json'],
    ['*/* (curl, browsers)', { accept: '*/*' }, 'application/xml'],
    ['application/* (first of ours)', { accept: 'application/*' }, 'application/xml'],
    ['text/xml', { accept: 'text/xml' }, 'application/xml'],
    ['JSON ranked lower', { accept: 'application/json;q=0.5, application/xml' }, 'application/xml'],
    ['XML ranked lower', { accept: 'application/xml;q=0.2, application/json;q=0.9' }, 'application/json'],
    ['JSON over a wildcard (axios)', { accept: 'application/json, text/plain, */*' }, 'application/json'],
    ['a type we do not write', { accept: 'text/html' }, 'application/xml'],
    ['the documented curl line glued "-H" on', { accept: 'application/xml-H' }, 'application/xml'],
    ['a header name in capitals', { Accept: 'application/json' }, 'application/json'],
  ])('%s', async (_, headers, expected) => {
    const res = await call(headers);
    expect(res.statusCode).toBe(200);
    expect(type(res)).toBe(expected);
    if (expected === 'application/json') expect(JSON.parse(res.body).total).toBeGreaterThan(0);
    else expect(res.body).toMatch(/^<\?xml [^>]*\?>\n<ns0:targetFormats xmlns:ns0="http:\/\/www\.usharesoft\.com\/uforge">/);
  });

  it('answers its uforgeError in the negotiated type too', async () => {
    const asJson = await call({ accept: 'application/json' }, 'bob');
    expect(asJson.statusCode).toBe(403);
    expect(type(asJson)).toBe('application/json');
    expect(JSON.parse(asJson.body)).toMatchObject({ statusCode: 403 });
    const asXml = await call({ accept: 'text/html' }, 'bob');
    expect(asXml.statusCode).toBe(403);
    expect(type(asXml)).toBe('application/xml');
    expect(asXml.body).toContain('<ns0:uforgeError');
  });

  it('reads JSON bodies with the reader it is given (the shared middy parser), XML with its own', () => {
    const json = jest.fn((raw: string) => ({ parsed: raw.length }));
    expect(parseUforgeBody('{"a":1}', { 'content-type': 'application/json' }, json)).toEqual({ kind: 'json', value: { parsed: 7 } });
    expect(parseUforgeBody('{"a":1}', {}, json)).toEqual({ kind: 'json', value: { parsed: 7 } });
    expect(json).toHaveBeenCalledTimes(2);
    expect(parseUforgeBody('<image><compress>true</compress></image>', {}, json)).toEqual({
      kind: 'xml',
      root: 'image',
      fields: { compress: 'true' },
    });
    expect(json).toHaveBeenCalledTimes(2);
    expect(() => parseUforgeBody('<a/>', { 'content-type': 'text/plain' }, json)).toThrow(MalformedRequestError);
  });
});
