/**
 * The authorizer's schemes against in-memory repositories: each accepts the good request and refuses
 * every bad one (wrong key, tampered signature, skewed date, unknown key/login/token/AK, malformed
 * header, expired token, wrong password), always by resolving to no caller — never by throwing.
 */
import { authenticate } from '../../../lambdas/auth/authorizer';
import { authRequestFrom, type AuthRequest } from '../../../lambdas/auth/request';
import { requestTargets } from '../../../lambdas/auth/signature';
import { addKey, createAksk, issueToken, setPassword } from '../../../lambdas/core/use-cases/credentials';
import { LOGIN_THROTTLE } from '../../../lambdas/core/credential';
import { authorizerEvent, authWorld } from '../../helpers/fake-credentials';
import { basicAuthorization, generateTestKeyPair, signatureHeaders, type TestKeyPair } from '../../helpers/credentials';

const ALICE = { id: '11111111-1111-4111-8111-111111111111', login: 'alice', created_at: '2026-01-01T00:00:00Z' };
const BOB = { id: '22222222-2222-4222-8222-222222222222', login: 'bob', created_at: '2026-01-01T00:00:00Z' };

async function world() {
  const w = authWorld();
  await w.accounts.create(ALICE);
  await w.accounts.create(BOB);
  return w;
}

const req = (e: Parameters<typeof authorizerEvent>[0]): AuthRequest => authRequestFrom(authorizerEvent(e));

describe('HTTP Signature', () => {
  let w: Awaited<ReturnType<typeof world>>;
  const keys: Record<string, TestKeyPair> = {};
  beforeAll(async () => {
    w = await world();
    for (const type of ['rsa', 'ed25519', 'ecdsa'] as const) {
      keys[type] = generateTestKeyPair(type);
      await addKey(w)('alice', keys[type].publicKey);
    }
    keys.bob = generateTestKeyPair('ed25519');
    await addKey(w)('bob', keys.bob.publicKey);
  });
  const signed = (
    over: Partial<Parameters<typeof signatureHeaders>[0]> = {},
    path = '/alice/images',
    query?: Record<string, string[]>,
    pathAndQuery?: string,
  ) =>
    req({
      method: 'GET',
      path,
      query,
      headers: signatureHeaders({ method: 'GET', pathAndQuery: pathAndQuery ?? path, login: 'alice', key: keys.ed25519, ...over }),
    });

  it.each(['rsa', 'ed25519', 'ecdsa'])('accepts a %s signature over (request-target) and date', async (type) => {
    const auth = await authenticate(signed({ key: keys[type] }), w);
    expect(auth).toMatchObject({ scheme: 'signature', principal: { accountId: ALICE.id, login: 'alice', roles: [] } });
  });

  it('accepts the query string the CLI signed, rebuilt from the decoded parameters', async () => {
    const q = { state: ['all'], name: ['~web 01'], limit: ['10'] };
    // restify-clients: querystring.stringify in the order given
    const auth = await authenticate(signed({}, '/alice/images', q, '/alice/images?state=all&name=~web%2001&limit=10'), w);
    expect(auth?.principal.login).toBe('alice');
  });

  it('accepts a signature over the stage-prefixed path of the execute-api domain', async () => {
    const headers = signatureHeaders({ method: 'GET', pathAndQuery: '/prod/alice/images', login: 'alice', key: keys.ed25519 });
    const auth = await authenticate(req({ method: 'GET', path: '/alice/images', stagePath: '/prod/alice/images', headers }), w);
    expect(auth?.principal.login).toBe('alice');
  });

  it('refuses a signature by another key under a registered keyId (wrong key)', async () => {
    expect(
      await authenticate(signed({ key: { privateKey: keys.bob.privateKey, fingerprint: keys.ed25519.fingerprint } }), w),
    ).toBeUndefined();
  });

  it('refuses a tampered signature', async () => {
    const r = signed();
    r.headers.authorization = r.headers.authorization.replace(/signature="(.)/, (_, c) => `signature="${c === 'A' ? 'B' : 'A'}`);
    expect(await authenticate(r, w)).toBeUndefined();
  });

  it('refuses a signature for another path or method', async () => {
    expect(await authenticate(signed({}, '/alice/machines', undefined, '/alice/images'), w)).toBeUndefined();
    const headers = signatureHeaders({ method: 'GET', pathAndQuery: '/alice/images', login: 'alice', key: keys.ed25519 });
    expect(await authenticate(req({ method: 'POST', path: '/alice/images', headers }), w)).toBeUndefined();
  });

  it.each([6 * 60, -6 * 60])('refuses a date %i seconds off (the 5-minute replay window)', async (s) => {
    expect(await authenticate(signed({ date: new Date(Date.now() + s * 1000) }), w)).toBeUndefined();
  });

  it('accepts a date 4 minutes off', async () => {
    expect(await authenticate(signed({ date: new Date(Date.now() - 4 * 60_000) }), w)).toBeDefined();
  });

  it('refuses an unknown keyId, a keyId of another login, and RBAC sub-user keyIds', async () => {
    const other = generateTestKeyPair('ed25519');
    expect(await authenticate(signed({ key: other }), w)).toBeUndefined();
    expect(await authenticate(signed({ keyId: `/bob/keys/${keys.ed25519.fingerprint}` }), w)).toBeUndefined();
    expect(await authenticate(signed({ keyId: `/alice/users/u1/keys/${keys.ed25519.fingerprint}` }), w)).toBeUndefined();
  });

  it('refuses a signature that does not cover (request-target), or uses an algorithm of another key type', async () => {
    expect(await authenticate(signed({ headers: 'date' }), w)).toBeUndefined();
    expect(await authenticate(signed({ algorithm: 'rsa-sha256' }), w)).toBeUndefined();
    expect(await authenticate(signed({ algorithm: 'hmac-sha256' }), w)).toBeUndefined();
  });

  it.each([
    'Signature',
    'Signature keyId=',
    'Signature keyId="/alice/keys/zz",algorithm="rsa-sha256",signature="x"',
    'Signature keyId="/alice/keys/aa",algorithm="nope-sha1",headers="(request-target) date",signature="AAAA"',
    'Signature keyId="/alice/keys/aa",algorithm="ed25519-sha512",headers="(request-target) date",signature="%%%"',
    `Signature keyId="/alice/keys/__FP__",algorithm="ed25519-sha512",headers="(request-target) date",signature="AAAA"`,
    `Signature ${'x'.repeat(10_000)}`,
  ])('refuses the malformed header %#', async (authorization) => {
    const r = req({
      method: 'GET',
      path: '/alice/images',
      headers: { date: new Date().toUTCString(), authorization: authorization.replace('__FP__', keys.ed25519.fingerprint) },
    });
    await expect(authenticate(r, w)).resolves.toBeUndefined();
  });

  it('refuses a missing or unparseable date', async () => {
    const r = signed();
    delete r.headers.date;
    expect(await authenticate(r, w)).toBeUndefined();
    const bad = signed();
    bad.headers.date = 'yesterday';
    expect(await authenticate(bad, w)).toBeUndefined();
  });

  it('rebuilds at most a handful of request targets', () => {
    const targets = requestTargets(
      req({ method: 'GET', path: '/a/images', stagePath: '/prod/a/images', query: { b: ['1'], a: ["it's"] } }),
    );
    expect(targets[0]).toBe("get /prod/a/images?b=1&a=it's");
    expect(targets).toContain('get /a/images?a=it%27s&b=1');
    expect(targets.length).toBeLessThanOrEqual(8);
  });
});

describe('HTTP Basic', () => {
  let w: Awaited<ReturnType<typeof world>>;
  beforeAll(async () => {
    w = await world();
    await setPassword(w)('alice', 'correct horse battery');
  });
  const basic = (login: string, password: string) =>
    req({ method: 'GET', path: '/alice/images', headers: { Authorization: basicAuthorization({ login, password }) } });

  it('accepts the right password, stored only as a salted scrypt hash', async () => {
    expect(await authenticate(basic('alice', 'correct horse battery'), w)).toMatchObject({
      scheme: 'basic',
      principal: { accountId: ALICE.id },
    });
    const stored = w.credentials.passwords.get(ALICE.id)!;
    expect(JSON.stringify(stored)).not.toContain('correct horse');
    expect(stored.salt).toBeTruthy();
  });

  it('refuses a wrong password, an unknown login and an account without a password', async () => {
    expect(await authenticate(basic('alice', 'wrong password!'), w)).toBeUndefined();
    expect(await authenticate(basic('nobody', 'correct horse battery'), w)).toBeUndefined();
    expect(await authenticate(basic('bob', 'correct horse battery'), w)).toBeUndefined();
  });

  it.each(['Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from(':pw').toString('base64')}`])(
    'refuses the malformed header %j',
    async (h) => {
      expect(await authenticate(req({ method: 'GET', path: '/x', headers: { authorization: h } }), w)).toBeUndefined();
    },
  );

  const from = (sourceIp: string, login: string, password: string): AuthRequest => ({ ...basic(login, password), sourceIp });
  const MAX = LOGIN_THROTTLE.maxAttempts;

  it(`blocks a source after ${MAX} wrong passwords for a login, never the login from elsewhere; the block ends; a right one gives its slot back`, async () => {
    const w2 = await world();
    await setPassword(w2)('alice', 'correct horse battery');
    for (let i = 0; i < MAX - 1; i++) expect(await authenticate(from('10.0.0.1', 'alice', `wrong-${i}-pass`), w2)).toBeUndefined();
    expect(await authenticate(from('10.0.0.1', 'alice', 'correct horse battery'), w2)).toBeDefined(); // slot given back
    expect(await authenticate(from('10.0.0.1', 'alice', 'wrong-last-pass'), w2)).toBeUndefined(); // the round is now full
    expect(await authenticate(from('10.0.0.1', 'alice', 'correct horse battery'), w2)).toBeUndefined(); // blocked
    expect(await authenticate(from('10.0.0.2', 'alice', 'correct horse battery'), w2)).toBeDefined(); // not locked out elsewhere
    w2.clock.current = new Date(Date.now() + (LOGIN_THROTTLE.baseLockSeconds + 1) * 1000);
    expect(await authenticate(from('10.0.0.1', 'alice', 'correct horse battery'), w2)).toBeDefined(); // block over
  }, 30_000);

  it('grants at most the limit to concurrent guesses (the counter is checked before scrypt), and a right one among the rest is refused', async () => {
    const w2 = await world();
    await setPassword(w2)('alice', 'correct horse battery');
    const guesses = Array.from({ length: 3 * MAX }, (_, i) => (i === 3 * MAX - 1 ? 'correct horse battery' : `guess-${i}-pass`));
    const results = await Promise.all(guesses.map((p) => authenticate(from('10.0.0.9', 'alice', p), w2)));
    expect(results.filter(Boolean)).toEqual([]);
    expect(w2.credentials.throttle.get('10.0.0.9#alice')).toMatchObject({ strikes: 1, attempts: 0 });
  }, 30_000);

  it('doubles the block at each further round', async () => {
    const w2 = await world();
    await setPassword(w2)('alice', 'correct horse battery');
    const t0 = Date.now();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < MAX; i++) await authenticate(from('10.0.0.3', 'alice', `wrong-${i}-pass`), w2);
      const t = w2.credentials.throttle.get('10.0.0.3#alice')!;
      expect(Date.parse(t.blocked_until!) - w2.clock.now().getTime()).toBe(LOGIN_THROTTLE.baseLockSeconds * 1000 * 2 ** round);
      w2.clock.current = new Date(Date.parse(t.blocked_until!) + 1);
    }
    expect(w2.clock.now().getTime()).toBeGreaterThan(t0);
  }, 30_000);

  it('refuses a token issued before the password changed', async () => {
    const w2 = await world();
    await setPassword(w2)('alice', 'correct horse battery');
    const { token } = await issueToken(w2)('alice', { ttlSeconds: 3600 });
    const tok = req({ method: 'GET', path: '/x', headers: { 'x-auth-token': token } });
    expect(await authenticate(tok, w2)).toBeDefined();
    w2.clock.current = new Date(w2.clock.now().getTime() + 1000);
    await setPassword(w2)('alice', 'another long password');
    expect(await authenticate(tok, w2)).toBeUndefined();
    const { token: fresh } = await issueToken(w2)('alice', { ttlSeconds: 3600 });
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': fresh } }), w2)).toBeDefined();
  });
});

describe('API tokens (X-Auth-Token)', () => {
  it('accepts a live token, by X-Auth-Token or Bearer, and stores only its sha256', async () => {
    const w = await world();
    const { token } = await issueToken(w)('alice', { ttlSeconds: 3600 });
    expect(await authenticate(req({ method: 'GET', path: '/v2/cloudimages', headers: { 'X-Auth-Token': token } }), w)).toMatchObject({
      scheme: 'token',
      principal: { accountId: ALICE.id },
    });
    expect(
      await authenticate(req({ method: 'GET', path: '/v2/cloudimages', headers: { authorization: `Bearer ${token}` } }), w),
    ).toBeDefined();
    expect(JSON.stringify([...w.credentials.tokens.values()])).not.toContain(token);
  });

  it('refuses an expired token and an unknown one', async () => {
    const w = await world();
    const { token } = await issueToken(w)('alice', { ttlSeconds: 60 });
    w.clock.current = new Date(Date.now() + 61_000);
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': token } }), w)).toBeUndefined();
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': 'not-a-token' } }), w)).toBeUndefined();
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': '' } }), w)).toBeUndefined();
  });

  it('refuses a non-positive or too long ttl', async () => {
    const w = await world();
    await expect(issueToken(w)('alice', { ttlSeconds: 0 })).rejects.toThrow(/between/);
    await expect(issueToken(w)('alice', { ttlSeconds: 10 * 366 * 86400 })).rejects.toThrow(/between/);
  });
});

describe('anonymous and unknown schemes', () => {
  it.each<Record<string, string>>([{}, { authorization: 'Digest username="alice"' }, { authorization: '' }])(
    'resolves no caller for %j',
    async (headers) => {
      const w = await world();
      expect(await authenticate(req({ method: 'GET', path: '/alice/images', headers }), w)).toBeUndefined();
    },
  );
});

describe('admin credential use cases', () => {
  it('addKey refuses what is not an SSH public key, and short RSA keys', async () => {
    const w = await world();
    await expect(addKey(w)('alice', 'ssh-ed25519 garbage')).rejects.toThrow(/not an SSH public key/);
    await expect(addKey(w)('nobody', generateTestKeyPair().publicKey)).rejects.toThrow(/not found/);
  });

  it('createAksk returns the pair once with the account id as project_id', async () => {
    const w = await world();
    const pair = await createAksk(w)('alice');
    expect(pair).toMatchObject({ project_id: ALICE.id });
    expect(pair.ak).toMatch(/^[A-Z0-9]{20}$/);
    expect(pair.sk).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('setPassword refuses short passwords', async () => {
    const w = await world();
    await expect(setPassword(w)('alice', 'short')).rejects.toThrow(/characters/);
  });
});
