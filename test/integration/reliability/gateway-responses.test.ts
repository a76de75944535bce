/**
 * The local gateway answers its own errors (lib/gateway-responses.ts) with the body the deployed API
 * Gateway's gateway responses carry: `{code, message}` for Triton, `{error_code, error_msg, request_id}`
 * for Huawei clients, `statusCode` for UForge — never the bare `{"message": …}`.
 */
import { api } from '../../helpers/local-stack';

const shared = (code: string, statusCode?: number) => ({
  code,
  message: expect.any(String),
  error_code: expect.stringMatching(/^APIGW\./),
  error_msg: expect.any(String),
  request_id: expect.any(String),
  ...(statusCode !== undefined && { statusCode }),
});

describe('gateway responses on the local gateway', () => {
  it('an unknown path or method is 404 in the shared shape (MISSING_AUTHENTICATION_TOKEN)', async () => {
    for (const [method, path] of [
      ['GET', '/no/such/route/here'],
      ['PUT', '/v2/cloudimages'],
      ['DELETE', '/--ping'],
    ]) {
      const res = await api(method, path, undefined, { anonymous: true });
      expect([res.status, res.body]).toEqual([404, shared('ResourceNotFound', 404)]);
    }
  });

  it('a body over the payload limit is 413 in the shared shape (DEFAULT_4XX)', async () => {
    const res = await api('POST', '/v2/cloudimages/action', 'x'.repeat(10 * 1024 * 1024 + 1), {
      anonymous: true,
      headers: { 'content-type': 'application/json' },
    });
    expect([res.status, res.body]).toEqual([413, shared('BadRequest', 413)]);
  });

  it('missing credentials are 401 in the shared shape (UNAUTHORIZED)', async () => {
    const res = await api('GET', '/v2/cloudimages', undefined, { anonymous: true });
    expect([res.status, res.body]).toEqual([401, shared('InvalidCredentials', 401)]);
  });
});
