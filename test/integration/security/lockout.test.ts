/**
 * Password throttling over real HTTP and DynamoDB (docs/decisions/lockout.md): per (source address,
 * login), reserved by a conditional counter before scrypt runs, so concurrent guesses cannot overshoot;
 * a blocked source does not lock the user out from elsewhere, nor its tokens or signed requests; an
 * unknown login, a blocked one and a wrong password get the same answer in similar time. A password
 * change revokes earlier tokens. Sources are distinct loopback addresses (127.0.0.x).
 *
 * Every attempt runs scrypt at N=2^17 (~1 s of CPU on a loaded test machine). On AWS each concurrent
 * authorizer invocation has its own CPU; in the local stack they all share one process, so 30
 * simultaneous guesses would outlast the authorizer's 30 s timeout there only. This file therefore
 * runs its own local stack with every time limit scaled up by TIME_SCALE (LocalStackOptions.timeScale,
 * as limits.test.ts scales them down), and its tests get minutes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { makeAccount, makeKey, makeToken } from '../../helpers/fixtures';
import { basicAuthorization, rememberPassword, signatureHeaders } from '../../helpers/credentials';
import { adminOps } from '../../../local/admin-ops';
import { LOGIN_THROTTLE } from '../../../lambdas/core/credential';
import { keys } from '../../../lambdas/adapters/dynamodb/table';
import { config, disposeClients, documentClient } from '../../../lambdas/wiring';

const TIME_SCALE = 10;
let stack: LocalStack;
let dir: string;
let BASE: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'lockout-'));
  // also points this file's SDK clients (wiring, fixtures) at this stack
  stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data'), timeScale: TIME_SCALE });
  BASE = stack.url;
}, 180_000);

afterAll(async () => {
  disposeClients();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** One GET from a chosen loopback source address. */
function getFrom(localAddress: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const url = new URL(path, BASE);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'GET', headers, localAddress, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const basic = (login: string, password: string) => ({ authorization: basicAuthorization({ login, password }) });
const throttleItem = async (source: string, login: string) =>
  (
    await documentClient().send(
      new GetCommand({ TableName: config.tableName(), Key: keys.loginThrottle(source, login), ConsistentRead: true }),
    )
  ).Item;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withoutRequestId = (body: string) => body.replace(/"request_id":"[^"]*"/, '');

describe('password throttling per source', () => {
  let user: Awaited<ReturnType<typeof makeAccount>>;
  const ATTACKER = '127.0.0.2';

  beforeAll(async () => {
    user = await makeAccount('lock');
  }, 60_000);

  it('grants only the limit to concurrent guesses, then blocks that source alone: the user, its token and its key still work', async () => {
    const path = `/${user.login}`;
    const guesses = await Promise.all(
      Array.from({ length: 3 * LOGIN_THROTTLE.maxAttempts }, (_, i) =>
        getFrom(ATTACKER, path, basic(user.login, `guess-${i}-${randomBytes(4).toString('hex')}`)),
      ),
    );
    expect(guesses.map((r) => r.status)).toEqual(guesses.map(() => 401));
    // exactly one block, and no reservation beyond the limit (the counter went back to 0 with the block)
    expect(await throttleItem(ATTACKER, user.login)).toMatchObject({ strikes: 1, attempts: 0, blocked_until: expect.any(String) });

    expect((await getFrom(ATTACKER, path, basic(user.login, user.password))).status).toBe(401);
    expect((await getFrom('127.0.0.3', path, basic(user.login, user.password))).status).toBe(200);
    const token = await makeToken(user.login);
    expect((await getFrom(ATTACKER, path, { 'x-auth-token': token })).status).toBe(200);
    const key = await makeKey(user.login);
    expect((await getFrom(ATTACKER, path, signatureHeaders({ method: 'GET', pathAndQuery: path, login: user.login, key }))).status).toBe(
      200,
    );
  }, 300_000);

  it('answers an unknown login, a blocked one and a wrong password alike, in similar time', async () => {
    const path = `/${user.login}`;
    const unknown = `ghost${randomBytes(4).toString('hex')}`;
    const samples: Record<'unknown' | 'blocked' | 'wrong', Reply[]> = { unknown: [], blocked: [], wrong: [] };
    for (let i = 0; i < 7; i++) {
      samples.unknown.push(await getFrom('127.0.0.4', path, basic(unknown, 'whatever-password')));
      samples.blocked.push(await getFrom(ATTACKER, path, basic(user.login, `guess-again-${i}`)));
      samples.wrong.push(await getFrom('127.0.0.5', path, basic(user.login, `wrong-${i}-password`)));
    }
    const all = [...samples.unknown, ...samples.blocked, ...samples.wrong];
    expect(new Set(all.map((r) => r.status))).toEqual(new Set([401]));
    expect(new Set(all.map((r) => withoutRequestId(r.body))).size).toBe(1);
    const [u, b, w] = [
      median(samples.unknown.map((r) => r.ms)),
      median(samples.blocked.map((r) => r.ms)),
      median(samples.wrong.map((r) => r.ms)),
    ];
    // each path runs scrypt: no path is several times faster than another (the finding was 9 ms vs 65 ms)
    for (const [x, y] of [
      [u, w],
      [b, w],
      [u, b],
    ])
      expect(x / y).toBeGreaterThan(0.4);
  }, 300_000);

  it('revokes API tokens issued before a password change', async () => {
    const other = await makeAccount('lockpw');
    const token = await makeToken(other.login);
    expect((await getFrom('127.0.0.6', `/${other.login}`, { 'x-auth-token': token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    const password = randomBytes(18).toString('base64url');
    await adminOps.setPassword(other.login, password);
    rememberPassword(other.login, password);
    expect((await getFrom('127.0.0.6', `/${other.login}`, { 'x-auth-token': token })).status).toBe(401);
    expect((await getFrom('127.0.0.6', `/${other.login}`, { 'x-auth-token': await makeToken(other.login) })).status).toBe(200);
  }, 60_000);
});
