/**
 * The authorizer's log says why it refused a request (lambdas/auth/refusal.ts) — as a structured
 * `reason` beside the scheme — while the caller gets the same 401 for every reason; the log and the
 * metrics carry no secret (password, token, signature, secret key). The authorizer runs whole (its
 * middy handler, Powertools logger and metrics) on in-memory repositories; its stdout is captured.
 */
import type { Context } from 'aws-lambda';
import { authWorld, authorizerEvent } from '../../helpers/fake-credentials';

const world = authWorld();
jest.mock('../../../lambdas/wiring', () => ({
  ...jest.requireActual('../../../lambdas/wiring'),
  accountRepository: () => world.accounts,
  credentialRepository: () => world.credentials,
  clock: { now: () => world.clock.now() },
}));

// the authorizer hashes at today's cost (no AuthDeps.scrypt from wiring): lowered here, as the other unit tests lower it
jest.mock('../../../lambdas/core/use-cases/credentials', () => ({
  ...jest.requireActual('../../../lambdas/core/use-cases/credentials'),
  DEFAULT_SCRYPT: { N: 1024, r: 8, p: 1, keylen: 32 },
}));

import { handler } from '../../../lambdas/auth/authorizer';
import { AUTH_FAILURE_REASONS } from '../../../lambdas/auth/refusal';
import { addKey, createAksk, issueToken, setPassword } from '../../../lambdas/core/use-cases/credentials';
import { setAccountDisabled } from '../../../lambdas/core/use-cases/admin';
import { basicAuthorization, generateTestKeyPair, huaweiSignedHeaders, signatureHeaders } from '../../helpers/credentials';

const ALICE = { id: '11111111-1111-4111-8111-111111111111', login: 'alice', created_at: '2026-01-01T00:00:00Z' };
const CAROL = { id: '33333333-3333-4333-8333-333333333333', login: 'carol', created_at: '2026-01-01T00:00:00Z' };
const PASSWORD = 'correct horse battery';
const lambda = { functionName: 'authorizer', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

let out = '';
let spies: jest.SpyInstance[] = [];
beforeAll(async () => {
  await world.accounts.create(ALICE);
  await world.accounts.create(CAROL);
  await setPassword(world)('alice', PASSWORD);
  await setPassword(world)('carol', PASSWORD);
  await setAccountDisabled(world)('carol', true);
});
// Powertools writes warnings to stderr and metrics (EMF) to stdout: both are captured.
beforeEach(() => {
  out = '';
  const capture = (chunk: string | Uint8Array) => {
    out += `${String(chunk)}\n`;
    return true;
  };
  spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
});
afterEach(() => {
  for (const spy of spies) spy.mockRestore();
});

const lines = (): Record<string, unknown>[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Runs the authorizer on a request; returns the refusal's log line (and fails the test if it was allowed). */
async function refused(headers: Record<string, string>, path = '/alice', sourceIp = '10.0.0.1') {
  const event = authorizerEvent({ method: 'GET', path, headers });
  const withSource = { ...event, requestContext: { ...event.requestContext, identity: { sourceIp } } };
  await expect(handler(withSource as never, lambda)).rejects.toThrow(/^Unauthorized$/);
  const refusal = lines()
    .filter((l) => l.message === 'authentication failed')
    .at(-1);
  expect(refusal).toBeDefined();
  return refusal!;
}

describe('authorizer refusals', () => {
  it('logs the reason of each kind of failed Basic login, and nothing of the password', async () => {
    const basic = (login: string, password: string) => ({ authorization: basicAuthorization({ login, password }) });
    expect(await refused(basic('nobody', 'guess-one'))).toMatchObject({ level: 'WARN', scheme: 'basic', reason: 'unknown_login' });
    expect(await refused(basic('alice', 'guess-two'))).toMatchObject({ scheme: 'basic', reason: 'bad_password', source: '10.0.0.1' });
    expect(await refused(basic('carol', PASSWORD), '/carol')).toMatchObject({ scheme: 'basic', reason: 'disabled_account' });
    expect(await refused({ authorization: 'Basic !!!' })).toMatchObject({ scheme: 'basic', reason: 'malformed' });
    // this source is locked out for alice: even the right password is refused, and said so
    world.credentials.throttle.set('10.9.9.9#alice', {
      attempts: 0,
      strikes: 1,
      blocked_until: new Date(world.clock.now().getTime() + 60_000).toISOString(),
      touched_at: world.clock.now().toISOString(),
    });
    expect(await refused(basic('alice', PASSWORD), '/alice', '10.9.9.9')).toMatchObject({ scheme: 'basic', reason: 'locked' });
    expect(out).not.toMatch(/guess-one|guess-two|correct horse/);
    expect(out).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
  });

  it('logs unknown, expired and revoked tokens apart, without the token', async () => {
    expect(await refused({ 'x-auth-token': 'not-a-token-at-all' })).toMatchObject({ scheme: 'token', reason: 'unknown_token' });
    const { token } = await issueToken(world)('alice', { ttlSeconds: 60 });
    world.clock.current = new Date(world.clock.now().getTime() + 120_000);
    expect(await refused({ 'x-auth-token': token })).toMatchObject({ scheme: 'token', reason: 'expired_token' });
    const { token: old } = await issueToken(world)('alice', { ttlSeconds: 3600 });
    world.clock.current = new Date(world.clock.now().getTime() + 1000);
    await setPassword(world)('alice', PASSWORD);
    expect(await refused({ authorization: `Bearer ${old}` })).toMatchObject({ scheme: 'token', reason: 'revoked_token' });
    expect(out).not.toContain(token);
    expect(out).not.toContain(old);
  });

  it('logs bad signatures, unknown keys and clock skew (HTTP Signature), without the signature', async () => {
    const key = generateTestKeyPair('ed25519');
    const other = generateTestKeyPair('ed25519');
    await addKey(world)('alice', key.publicKey);
    const now = world.clock.now();
    const forged = signatureHeaders({
      method: 'GET',
      pathAndQuery: '/alice',
      login: 'alice',
      key: { ...other, fingerprint: key.fingerprint },
      date: now,
    });
    expect(await refused(forged)).toMatchObject({ scheme: 'signature', reason: 'bad_signature' });
    const unknown = signatureHeaders({ method: 'GET', pathAndQuery: '/alice', login: 'alice', key: other, date: now });
    expect(await refused(unknown)).toMatchObject({ scheme: 'signature', reason: 'unknown_key' });
    const stale = signatureHeaders({
      method: 'GET',
      pathAndQuery: '/alice',
      login: 'alice',
      key,
      date: new Date(now.getTime() - 3600_000),
    });
    expect(await refused(stale)).toMatchObject({ scheme: 'signature', reason: 'clock_skew' });
    expect(out).not.toContain(/signature="([^"]+)"/.exec(forged.authorization)![1]);
  });

  it('logs an unknown access key and a bad AK/SK signature, without the secret key', async () => {
    const aksk = await createAksk(world)('alice');
    const signed = (ak: string, sk: string) =>
      huaweiSignedHeaders({ baseUrl: 'http://127.0.0.1:8080', method: 'GET', path: '/v2/cloudimages', aksk: { ...aksk, ak, sk } });
    // the signer dates its requests now: the world's clock is set to the same moment
    world.clock.current = new Date();
    expect(await refused(signed('UNKNOWNACCESSKEY0000', aksk.sk), '/v2/cloudimages')).toMatchObject({
      scheme: 'aksk',
      reason: 'unknown_access_key',
    });
    expect(await refused(signed(aksk.ak, 'not-the-secret-key'), '/v2/cloudimages')).toMatchObject({
      scheme: 'aksk',
      reason: 'bad_signature',
    });
    expect(out).not.toContain(aksk.sk);
  });

  it('counts refusals by scheme (AuthFailures) and by scheme and reason (AuthFailuresByReason)', async () => {
    await refused({ 'x-auth-token': 'still-not-a-token' });
    const metrics = lines().filter((l) => l._aws !== undefined);
    const named = (name: string) =>
      metrics.find((m) =>
        (m._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!.Metrics.some((x) => x.Name === name),
      );
    expect(named('AuthFailures')).toMatchObject({ Scheme: 'token', AuthFailures: 1 });
    expect(named('AuthFailures')).not.toHaveProperty('Reason');
    expect(named('AuthFailuresByReason')).toMatchObject({ Scheme: 'token', Reason: 'unknown_token', AuthFailuresByReason: 1 });
    expect(AUTH_FAILURE_REASONS).toContain('unknown_token');
  });
});
