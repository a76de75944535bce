/**
 * The local gateway applies API Gateway's limits around the local Lambda runtime: the integration
 * timeout (504 with the INTEGRATION_TIMEOUT gateway response), a failed invocation or malformed
 * response (502 with API Gateway's own body), a failing authorizer (500).
 */
import type { Route } from '../../../lambdas/routes';
import { startGateway, type LocalGateway } from '../../../local/gateway';
import { gatewayResponseBody } from '../../../lib/gateway-responses';
import { LAMBDA_LIMITS, type LocalFunction } from '../../../local/lambda';
import type { AnyHandler } from '../../../local/handlers';

const route = (operation: string, auth: Route['auth'] = 'none'): Route => ({
  dialect: 'service',
  method: 'GET',
  path: `/${operation.toLowerCase()}`,
  operation,
  auth,
  access: 'read',
  entry: `${operation}.ts`,
});
const fn = (name: string, timeoutMs: number, handler: AnyHandler): LocalFunction => ({
  name,
  timeoutMs,
  memoryMb: 256,
  load: () => handler,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok = (body: unknown) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

let gateway: LocalGateway;
let lateResults = 0;
let authorizerMode: 'allow' | 'slow' = 'allow';

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    routes: [
      route('Fast'),
      route('Slow'),
      route('ShortTimeout'),
      route('Huge'),
      route('Malformed'),
      route('Throws'),
      route('Guarded', 'caller'),
    ],
    integrations: {
      Fast: { fn: fn('Fast', 5_000, async () => ok({ fine: true })), integrationTimeoutMs: 2_000 },
      // a function allowed longer than its integration (as 30 s behind 29 s): the gateway gives up first
      Slow: {
        fn: fn('Slow', 5_000, async () => {
          await sleep(1_500);
          lateResults++;
          return ok({});
        }),
        integrationTimeoutMs: 290,
      },
      // a function whose own timeout is shorter than the integration's: Lambda fails, API Gateway says 502
      ShortTimeout: {
        fn: fn('ShortTimeout', 50, async () => {
          await sleep(1_000);
          return ok({});
        }),
        integrationTimeoutMs: 2_000,
      },
      Huge: { fn: fn('Huge', 5_000, async () => ok('x'.repeat(LAMBDA_LIMITS.maxResponseBytes))), integrationTimeoutMs: 5_000 },
      Malformed: { fn: fn('Malformed', 1_000, async () => ({ body: 'no status code' })), integrationTimeoutMs: 2_000 },
      Throws: {
        fn: fn('Throws', 1_000, async () => {
          throw new Error('boom');
        }),
        integrationTimeoutMs: 2_000,
      },
      Guarded: { fn: fn('Guarded', 1_000, async () => ok({ guarded: true })), integrationTimeoutMs: 2_000 },
    },
    authorizer: fn('Authorizer', 100, async () => {
      if (authorizerMode === 'slow') await sleep(1_000);
      return { principalId: 'p', policyDocument: { Statement: [{ Effect: 'Allow' }] }, context: {} };
    }),
  });
});
afterAll(() => gateway.close());

const get = async (path: string) => {
  const res = await fetch(`${gateway.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
};

describe('local gateway limits', () => {
  it('passes a response within the limits through', async () => {
    expect(await get('/fast')).toMatchObject({ status: 200, body: { fine: true } });
  });

  it('answers 504 with the INTEGRATION_TIMEOUT gateway response once the integration timeout passes, and drops the late result', async () => {
    const started = Date.now();
    const res = await get('/slow');
    expect(Date.now() - started).toBeLessThan(1_500); // it did not wait for the handler
    expect(res.status).toBe(504);
    expect(res.body).toEqual(gatewayResponseBody('INTEGRATION_TIMEOUT', res.body.request_id));
    expect(res.body).toMatchObject({ code: 'GatewayTimeout', error_code: 'APIGW.0201' });
    await sleep(1_600);
    expect(lateResults).toBe(1); // the handler did finish, in-process…
    expect((await get('/fast')).status).toBe(200); // …and its result reached no one
  });

  it.each([
    ['a function that outlives its own timeout', '/shorttimeout'],
    ['a response over 6 MB', '/huge'],
    ['a malformed proxy response', '/malformed'],
    ['a thrown error', '/throws'],
  ])("answers 502 with API Gateway's body for %s", async (_, path) => {
    const res = await get(path);
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ message: 'Internal server error' });
    expect(res.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
  });

  it('answers 500 {"message": null} when the authorizer times out', async () => {
    authorizerMode = 'slow';
    try {
      expect(await get('/guarded')).toMatchObject({ status: 500, body: { message: null } });
    } finally {
      authorizerMode = 'allow';
    }
    expect(await get('/guarded')).toMatchObject({ status: 200, body: { guarded: true } });
  });
});
