/**
 * API Gateway's request-body validation as the local gateway mirrors it (local/body-validation.ts), from
 * the models the synthesized template carries (lambdas/openapi/request-models.ts): the gateway refuses
 * only what the handler would refuse with the same answer — a Triton JSON body that is not JSON is
 * `400 {code: "BadRequest"}` either way — and leaves everything else to the handlers' dialect shapes.
 * Which of the two answered shows in the body: the gateway's carries `error_code`/`request_id` and the
 * `x-amzn-errortype` header, the handler's does not.
 */
import { api } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';

const json = { 'content-type': 'application/json' };
const byGateway = (res: { headers: Headers; body: any }) =>
  res.headers.get('x-amzn-errortype') === 'BadRequestException' && 'error_code' in res.body;

describe('request-body validation on the local gateway', () => {
  let login: string;
  let machineId: string;
  beforeAll(async () => {
    login = (await makeAccount('validate')).login;
    machineId = (await makeMachine(login, { size: 4096 })).machine.id;
  });

  it('refuses a Triton JSON body that is not JSON before the function runs, with the answer the handler gives', async () => {
    for (const path of [`/${login}/images`, `/${login}/machines`]) {
      for (const headers of [json, { 'content-type': 'Application/JSON; charset=utf-8' }]) {
        const res = await api('POST', path, '{"machine": ', { headers });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          code: 'BadRequest',
          message: expect.any(String),
          error_code: 'APIGW.0201',
          request_id: expect.any(String),
        });
        expect(byGateway(res)).toBe(true);
      }
    }
  });

  it('leaves other content types, and well-formed JSON of any shape, to the handler and its Triton answers', async () => {
    // text/plain (fetch's default for a string): no model for it, the handler reads the JSON
    const plain = await api('POST', `/${login}/images`, '{"machine": ');
    expect([plain.status, plain.body]).toEqual([400, { code: 'BadRequest', message: expect.any(String) }]);
    for (const body of ['[]', '"hello"', JSON.stringify({ machine: machineId, name: 42, version: ['1'], tags: 'x' })]) {
      const res = await api('POST', `/${login}/images`, body, { headers: json });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('InvalidArgument');
      expect(byGateway(res)).toBe(false);
    }
    const created = await api('POST', `/${login}/images`, { machine: machineId, name: 'validated', version: '1.0.0' });
    expect(created.status).toBe(201);
  });

  it('validates no IMS body: malformed JSON is IMG.0001 in the IMS shape, from the handler', async () => {
    const token = await makeToken(login);
    const res = await api('POST', '/v2/cloudimages/action', '{"name":', { headers: { ...json, 'x-auth-token': token } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'IMG.0001', message: expect.any(String) } });
  });
});
