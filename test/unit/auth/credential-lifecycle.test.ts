/**
 * Credential lifecycle against in-memory repositories (docs/decisions/credential-lifecycle.md): a
 * disabled account is refused by every scheme and works again once enabled; a weaker password hash is
 * upgraded at the next right login (conditionally: a concurrent change wins) and is padded to today's
 * cost when the password is wrong; listings carry no secret; deletes take one credential of one account.
 */
import * as crypto from 'node:crypto';

// scrypt recorded (and still run): the work each login spends is what the equal-timing tests compare
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, scrypt: jest.fn(actual.scrypt) };
});

import { authenticate } from '../../../lambdas/auth/authorizer';
import { authRequestFrom, type AuthRequest } from '../../../lambdas/auth/request';
import {
  addKey,
  createAksk,
  DEFAULT_SCRYPT,
  deleteAksk,
  deleteKey,
  hashPassword,
  issueToken,
  listAksks,
  listKeys,
  listTokens,
  needsRehash,
  padToCost,
  passwordMatches,
  revokeTokenById,
  setPassword,
  sha256Hex,
  TOKEN_ID_LENGTH,
} from '../../../lambdas/core/use-cases/credentials';
import { setAccountDisabled } from '../../../lambdas/core/use-cases/admin';
import type { ScryptParams } from '../../../lambdas/core/credential';
import { authorizerEvent, authWorld, UNIT_TEST_SCRYPT } from '../../helpers/fake-credentials';
import { basicAuthorization, generateTestKeyPair, huaweiSignedHeaders, signatureHeaders } from '../../helpers/credentials';

const ALICE = { id: '11111111-1111-4111-8111-111111111111', login: 'alice', created_at: '2026-01-01T00:00:00Z' };
const BOB = { id: '22222222-2222-4222-8222-222222222222', login: 'bob', created_at: '2026-01-01T00:00:00Z' };
const PASSWORD = 'correct horse battery';

async function world() {
  const w = authWorld();
  await w.accounts.create(ALICE);
  await w.accounts.create(BOB);
  return w;
}
const req = (e: Parameters<typeof authorizerEvent>[0]): AuthRequest => authRequestFrom(authorizerEvent(e));

describe('account disable / enable', () => {
  it('refuses every scheme of a disabled account at once, and accepts them all again once enabled', async () => {
    const w = await world();
    await setPassword(w)('alice', PASSWORD);
    const key = generateTestKeyPair('ed25519');
    await addKey(w)('alice', key.publicKey);
    const { token } = await issueToken(w)('alice', { ttlSeconds: 3600 });
    const aksk = await createAksk(w)('alice');
    const requests: Record<string, () => AuthRequest> = {
      signature: () =>
        req({ method: 'GET', path: '/alice', headers: signatureHeaders({ method: 'GET', pathAndQuery: '/alice', login: 'alice', key }) }),
      basic: () =>
        req({ method: 'GET', path: '/alice', headers: { authorization: basicAuthorization({ login: 'alice', password: PASSWORD }) } }),
      token: () => req({ method: 'GET', path: '/alice', headers: { 'x-auth-token': token } }),
      aksk: () =>
        req({
          method: 'GET',
          path: '/v2/cloudimages',
          headers: huaweiSignedHeaders({ baseUrl: 'http://127.0.0.1:8080', method: 'GET', path: '/v2/cloudimages', aksk }),
        }),
    };
    const outcome = async () =>
      Object.fromEntries(
        await Promise.all(Object.entries(requests).map(async ([k, r]) => [k, (await authenticate(r(), w))?.principal.accountId])),
      );
    const all = (v: string | undefined) => Object.fromEntries(Object.keys(requests).map((k) => [k, v]));

    expect(await outcome()).toEqual(all(ALICE.id));
    const disabled = await setAccountDisabled(w)('alice', true);
    expect(disabled.disabled_at).toEqual(w.clock.now().toISOString());
    expect(await outcome()).toEqual(all(undefined));
    // disabling twice keeps the first time; the other account is untouched
    w.clock.current = new Date(w.clock.now().getTime() + 5000);
    expect((await setAccountDisabled(w)('alice', true)).disabled_at).toBe(disabled.disabled_at);
    expect((await w.accounts.get(BOB.id))?.disabled_at).toBeUndefined();

    const enabled = await setAccountDisabled(w)('alice', false);
    expect(enabled.disabled_at).toBeUndefined();
    expect(await outcome()).toEqual(all(ALICE.id));
  });

  it('answers NotFound for an unknown login', async () => {
    const w = await world();
    await expect(setAccountDisabled(w)('nobody', true)).rejects.toThrow(/not found/);
  });
});

describe('password hash upgrade', () => {
  const OLD: ScryptParams = { N: 256, r: 8, p: 1, keylen: 32 };
  const basic = (password: string, sourceIp = '10.1.0.1') => ({
    ...req({ method: 'GET', path: '/alice', headers: { authorization: basicAuthorization({ login: 'alice', password }) } }),
    sourceIp,
  });

  async function withOldHash() {
    const w = await world();
    await w.credentials.putPassword({
      accountId: ALICE.id,
      ...(await hashPassword(PASSWORD, OLD)),
      updated_at: '2026-01-02T00:00:00.000Z',
    });
    return w;
  }

  it('knows which stored parameters are weaker than today’s', () => {
    expect(needsRehash({ N: 2 ** 14, r: 8, p: 1, keylen: 32 })).toBe(true);
    expect(needsRehash(DEFAULT_SCRYPT)).toBe(false);
    expect(DEFAULT_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1, keylen: 32 });
    expect(needsRehash(UNIT_TEST_SCRYPT, UNIT_TEST_SCRYPT)).toBe(false);
    expect(needsRehash(OLD, UNIT_TEST_SCRYPT)).toBe(true);
  });

  it('rehashes at today’s parameters on a right login, keeping updated_at (tokens stay valid); the new hash verifies', async () => {
    const w = await withOldHash();
    const { token } = await issueToken(w)('alice', { ttlSeconds: 3600 });
    const before = w.credentials.passwords.get(ALICE.id)!;
    expect(await authenticate(basic(PASSWORD), w)).toMatchObject({ principal: { accountId: ALICE.id } });
    const after = w.credentials.passwords.get(ALICE.id)!;
    expect(after.params).toEqual(UNIT_TEST_SCRYPT);
    expect(after.salt).not.toBe(before.salt);
    expect(after.updated_at).toBe(before.updated_at);
    expect(await passwordMatches(after, PASSWORD)).toBe(true);
    expect(await authenticate(basic(PASSWORD), w)).toBeDefined();
    expect(await authenticate(req({ method: 'GET', path: '/alice', headers: { 'x-auth-token': token } }), w)).toBeDefined();
  });

  /** The scrypt work (N·r·p) spent while `fn` runs. */
  async function workOf(fn: () => Promise<unknown>): Promise<number[]> {
    const scrypt = crypto.scrypt as unknown as jest.Mock;
    scrypt.mockClear();
    await fn();
    return scrypt.mock.calls.map((c) => {
      const o = c[3] as crypto.ScryptOptions;
      return o.N! * o.r! * o.p!;
    });
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  it('pads a check against a hash 8× cheaper (as N=2^14 is to 2^17) with runs at N/2, N/4, N/8: the work of one at today’s', async () => {
    // the same shape as 2^14 → 2^17, at 2^8 → 2^11 (OWASP's cost would take seconds here)
    const current: ScryptParams = { N: 2 ** 11, r: 8, p: 1, keylen: 32 };
    const runs = await workOf(() => padToCost({ ...current, N: 2 ** 8 }, current));
    expect(runs).toEqual([2 ** 10 * 8, 2 ** 9 * 8, 2 ** 8 * 8]);
    expect(sum(runs) + 2 ** 8 * 8).toBe(current.N * current.r * current.p);
    expect(await workOf(() => padToCost(current, current))).toEqual([]);
    expect(await workOf(() => padToCost(DEFAULT_SCRYPT))).toEqual([]);
  });

  it('spends the same scrypt work on a wrong password (old hash or current), an unknown login and a throttled one', async () => {
    const current = UNIT_TEST_SCRYPT.N * UNIT_TEST_SCRYPT.r * UNIT_TEST_SCRYPT.p;
    const old = await withOldHash();
    expect(sum(await workOf(() => authenticate(basic('a wrong password'), old)))).toBe(current);
    const fresh = await world();
    await setPassword(fresh)('alice', PASSWORD);
    expect(sum(await workOf(() => authenticate(basic('a wrong password'), fresh)))).toBe(current);
    expect(
      sum(
        await workOf(() =>
          authenticate(
            { ...basic('whatever password'), headers: { authorization: basicAuthorization({ login: 'nobody', password: 'x-password' }) } },
            fresh,
          ),
        ),
      ),
    ).toBe(current);
    for (let i = 0; i < 12; i++) await authenticate(basic(`wrong-${i}`, '10.9.9.9'), fresh); // blocks that source
    expect(sum(await workOf(() => authenticate(basic(PASSWORD, '10.9.9.9'), fresh)))).toBe(current);
  });

  it('leaves the hash alone on a wrong password', async () => {
    const w = await withOldHash();
    const before = { ...w.credentials.passwords.get(ALICE.id)! };
    expect(await authenticate(basic('a wrong password'), w)).toBeUndefined();
    expect(w.credentials.passwords.get(ALICE.id)).toEqual(before);
  });

  it('never overwrites a password changed while the login was checking (the write is conditional)', async () => {
    const w = await withOldHash();
    const getPassword = w.credentials.getPassword.bind(w.credentials);
    // the password changes right after the login read the old hash
    w.credentials.getPassword = async (id: string) => {
      const read = await getPassword(id);
      await setPassword(w)('alice', 'a brand new password');
      return read;
    };
    expect(await authenticate(basic(PASSWORD), w)).toBeDefined(); // the old password was right when read
    w.credentials.getPassword = getPassword;
    const stored = w.credentials.passwords.get(ALICE.id)!;
    expect(await passwordMatches(stored, 'a brand new password')).toBe(true);
    expect(await passwordMatches(stored, PASSWORD)).toBe(false);
  });
});

describe('listing and revoking credentials', () => {
  it('lists keys, tokens and AK/SK pairs of one account without any secret', async () => {
    const w = await world();
    const key = generateTestKeyPair('ed25519');
    const added = await addKey(w)('alice', key.publicKey, { name: 'laptop' });
    await addKey(w)('bob', generateTestKeyPair('ed25519').publicKey);
    const { token, expires_at } = await issueToken(w)('alice', { ttlSeconds: 3600 });
    const pair = await createAksk(w)('alice');

    const keys = await listKeys(w)('alice');
    expect(keys).toEqual([
      {
        fingerprint: key.fingerprint,
        sha256_fingerprint: added.sha256Fingerprint,
        type: 'ed25519',
        name: 'laptop',
        created_at: expect.any(String),
      },
    ]);
    const tokens = await listTokens(w)('alice');
    expect(tokens).toEqual([
      { id: sha256Hex(token).slice(0, TOKEN_ID_LENGTH), created_at: expect.any(String), expires_at, expired: false },
    ]);
    const aksks = await listAksks(w)('alice');
    expect(aksks).toEqual([{ ak: pair.ak, created_at: expect.any(String) }]);
    const text = JSON.stringify([keys, tokens, aksks]);
    for (const secret of [token, sha256Hex(token), pair.sk]) expect(text).not.toContain(secret);

    w.clock.current = new Date(Date.now() + 3601_000);
    expect((await listTokens(w)('alice'))[0].expired).toBe(true);
  });

  it('deletes one key, revokes one token by its id, deletes one AK/SK pair — only the named account’s', async () => {
    const w = await world();
    const key = generateTestKeyPair('ed25519');
    await addKey(w)('alice', key.publicKey);
    const [one, two] = [await issueToken(w)('alice', { ttlSeconds: 3600 }), await issueToken(w)('alice', { ttlSeconds: 3600 })];
    const pair = await createAksk(w)('alice');

    await expect(deleteKey(w)('bob', key.fingerprint)).rejects.toThrow(/not found/);
    await expect(deleteKey(w)('alice', 'not-a-fingerprint')).rejects.toThrow(/MD5/);
    expect(await deleteKey(w)('alice', key.fingerprint.toUpperCase())).toEqual({
      login: 'alice',
      fingerprint: key.fingerprint,
      deleted: true,
    });
    expect(await listKeys(w)('alice')).toEqual([]);
    await expect(deleteKey(w)('alice', key.fingerprint)).rejects.toThrow(/not found/);

    const id = sha256Hex(one.token).slice(0, TOKEN_ID_LENGTH);
    await expect(revokeTokenById(w)('bob', id)).rejects.toThrow(/not found/);
    await expect(revokeTokenById(w)('alice', 'xyz')).rejects.toThrow(/token id/);
    expect(await revokeTokenById(w)('alice', id)).toEqual({ login: 'alice', id, revoked: true });
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': one.token } }), w)).toBeUndefined();
    expect(await authenticate(req({ method: 'GET', path: '/x', headers: { 'x-auth-token': two.token } }), w)).toBeDefined();
    await expect(revokeTokenById(w)('alice', id)).rejects.toThrow(/not found/);

    await expect(deleteAksk(w)('bob', pair.ak)).rejects.toThrow(/not found/);
    expect(await deleteAksk(w)('alice', pair.ak)).toEqual({ login: 'alice', ak: pair.ak, deleted: true });
    expect(await listAksks(w)('alice')).toEqual([]);
  });
});
