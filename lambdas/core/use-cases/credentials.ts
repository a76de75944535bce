/**
 * Credential use cases (core; no AWS): set a password, register an SSH key, issue an API token,
 * create an AK/SK pair — the operator side behind `npm run admin` — plus the password hashing the
 * Basic scheme checks against. Passwords are scrypt hashes with a random per-user salt, compared in
 * constant time; tokens are stored as their sha256 only.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import sshpk from 'sshpk';
import type { Account } from '../account';
import type { AkskCredential, PasswordCredential, ScryptParams, SshKeyCredential } from '../credential';
import { InvalidParameterError, NotFoundError, ValidationError } from '../errors';
import type { AccountRepository, Clock, CredentialRepository } from '../ports';

/** N=2^14, r=8, p=1 (16 MiB, tens of ms): stored with each hash, so it can be raised later. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 16384, r: 8, p: 1, keylen: 32 };

const scrypt = (password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 };
    scryptCb(password.normalize('NFC'), salt, p.keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<Pick<PasswordCredential, 'hash' | 'salt' | 'params'>> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, params);
  return { hash: hash.toString('base64'), salt: salt.toString('base64'), params };
}

/** Constant-time check of a password against its stored hash. */
export async function passwordMatches(cred: Pick<PasswordCredential, 'hash' | 'salt' | 'params'>, password: string): Promise<boolean> {
  const expected = Buffer.from(cred.hash, 'base64');
  const actual = await scrypt(password, Buffer.from(cred.salt, 'base64'), cred.params);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

interface Deps {
  accounts: AccountRepository;
  credentials: CredentialRepository;
  clock: Clock;
}

async function accountOf(deps: Deps, login: string): Promise<Account> {
  const account = await deps.accounts.getByLogin(login);
  if (!account) throw new NotFoundError(`account ${login} not found`);
  return account;
}

export const MIN_PASSWORD_LENGTH = 8;

export const setPassword =
  (deps: Deps) =>
  async (login: string, password: string): Promise<{ login: string; accountId: string }> => {
    if (password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
      throw new ValidationError(`a password has ${MIN_PASSWORD_LENGTH} to 1024 characters`, [
        { field: 'password', code: 'Invalid', message: `${MIN_PASSWORD_LENGTH} to 1024 characters` },
      ]);
    }
    const account = await accountOf(deps, login);
    await deps.credentials.putPassword({ accountId: account.id, ...(await hashPassword(password)), updated_at: deps.clock.now().toISOString() });
    return { login: account.login, accountId: account.id };
  };

/** The MD5 fingerprint as the triton CLI writes it in keyId: `aa:bb:…`. */
export const md5Fingerprint = (key: sshpk.Key): string => key.fingerprint('md5', 'ssh').toString('hex');

export const addKey =
  (deps: Deps) =>
  async (login: string, publicKeyText: string, opts: { name?: string } = {}): Promise<SshKeyCredential & { sha256Fingerprint: string }> => {
    let key: sshpk.Key;
    try {
      key = sshpk.parseKey(publicKeyText.trim(), 'auto');
    } catch (err) {
      throw new InvalidParameterError(`not an SSH public key: ${(err as Error).message}`);
    }
    if (sshpk.PrivateKey.isPrivateKey(key, [1, 0])) key = (key as sshpk.PrivateKey).toPublic();
    if (!['rsa', 'ed25519', 'ecdsa'].includes(key.type)) throw new InvalidParameterError(`${key.type} keys are not supported (rsa, ed25519, ecdsa)`);
    if (key.type === 'rsa' && key.size < 2048) throw new InvalidParameterError('RSA keys need at least 2048 bits');
    const account = await accountOf(deps, login);
    const cred: SshKeyCredential = {
      accountId: account.id,
      login: account.login,
      fingerprint: md5Fingerprint(key),
      publicKey: key.toString('ssh'),
      type: key.type,
      ...(opts.name ? { name: opts.name } : key.comment ? { name: key.comment } : {}),
      created_at: deps.clock.now().toISOString(),
    };
    await deps.credentials.putKey(cred);
    return { ...cred, sha256Fingerprint: key.fingerprint('sha256', 'ssh').toString() };
  };

export const MAX_TOKEN_TTL_SECONDS = 366 * 86_400;

export const issueToken =
  (deps: Deps) =>
  async (login: string, opts: { ttlSeconds: number }): Promise<{ token: string; login: string; accountId: string; expires_at: string }> => {
    if (!Number.isFinite(opts.ttlSeconds) || opts.ttlSeconds <= 0 || opts.ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw new InvalidParameterError(`a token lives between 1 second and ${MAX_TOKEN_TTL_SECONDS} seconds`);
    }
    const account = await accountOf(deps, login);
    const token = randomBytes(32).toString('base64url');
    const now = deps.clock.now();
    const expires_at = new Date(now.getTime() + opts.ttlSeconds * 1000).toISOString();
    await deps.credentials.putToken({ hash: sha256Hex(token), accountId: account.id, login: account.login, expires_at, created_at: now.toISOString() });
    return { token, login: account.login, accountId: account.id, expires_at };
  };

/** How long a sign-in token lives (the web console's session): one hour, then sign in again. */
export const SIGN_IN_TOKEN_TTL_SECONDS = 3600;

/** Revokes the token a caller holds (sign-out). Revoking one already gone is not an error. */
export const revokeToken =
  (deps: Pick<Deps, 'credentials'>) =>
  async (caller: { accountId: string }, token: string): Promise<{ revoked: boolean }> => ({
    revoked: await deps.credentials.deleteToken(sha256Hex(token), caller.accountId),
  });

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const randomString = (n: number, alphabet: string): string => {
  // 256 % 36 bias is avoided by rejection sampling
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < n) for (const b of randomBytes(n * 2)) if (b < limit && out.length < n) out.push(alphabet[b % alphabet.length]);
  return out.join('');
};

export const createAksk =
  (deps: Deps) =>
  async (login: string): Promise<{ ak: string; sk: string; project_id: string; login: string }> => {
    const account = await accountOf(deps, login);
    const cred: AkskCredential = {
      ak: randomString(20, ALNUM),
      sk: randomString(40, `${ALNUM}abcdefghijklmnopqrstuvwxyz`),
      accountId: account.id,
      login: account.login,
      created_at: deps.clock.now().toISOString(),
    };
    await deps.credentials.putAksk(cred);
    // An account's IMS project_id is its account id.
    return { ak: cred.ak, sk: cred.sk, project_id: account.id, login: account.login };
  };

/** Parses a TTL such as `3600`, `90s`, `30m`, `12h`, `7d` into seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new InvalidParameterError(`ttl ${JSON.stringify(text)} is not a duration like 3600, 30m, 12h or 7d`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}
