/**
 * A body over the payload limit (10 MiB, as API Gateway) gets a well-formed 413 that the client can
 * read — never a reset — and the connection is closed cleanly (`connection: close`), so the client's
 * next request goes out on a fresh connection and succeeds.
 */
import { gatewayResponseBody } from '../../../lib/gateway-responses';
import { Agent, request } from 'node:http';
import { BASE } from '../../helpers/local-stack';
import { makeAccount } from '../../helpers/fixtures';
import { basicAuthorization } from '../../helpers/credentials';

function send(
  agent: Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const url = new URL(path, BASE);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('413 from the local gateway', () => {
  it('answers an oversized body with a readable 413 and a clean close; the next request works', async () => {
    const user = await makeAccount('big');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const auth = { authorization: basicAuthorization({ login: user.login, password: user.password }), 'content-type': 'application/json' };
    try {
      const big = Buffer.alloc(11 * 1024 * 1024, 0x20);
      const res = await send(agent, 'POST', `/${user.login}/images`, auth, big);
      expect(res.status).toBe(413);
      expect(res.headers.connection).toBe('close');
      // API Gateway's DEFAULT_4XX response, in the body every dialect reads (lib/gateway-responses.ts)
      const body = JSON.parse(res.text);
      expect(body).toEqual(gatewayResponseBody('DEFAULT_4XX', body.request_id, 413));
      const next = await send(agent, 'GET', `/${user.login}`, auth);
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});
