/**
 * Credential use cases (core; no AWS): set a password, register an SSH key, issue an API token,
 * create an AK/SK pair, list and revoke them, disable an account — the operator side behind
 * `npm run admin` — plus the password hashing the Basic scheme checks against. Passwords are scrypt
 * hashes with a random per-user salt, compared in constant time; tokens are stored as their sha256
 * only. Listings never carry a secret (docs/decisions/credential-lifecycle.md).
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import sshpk from 'sshpk';
import type { Account } from '../account';
import type { AkskCredential, PasswordCredential, ScryptParams, SshKeyCredential } from '../credential';
import { InvalidParameterError, NotFoundError, ValidationError } from '../errors';
import type { AccountRepository, Clock, CredentialRepository } from '../ports';

/**
 * OWASP's scrypt parameters: N=2^17, r=8, p=1 (128 MiB, a few hundred ms). Stored with each hash;
 * a hash made with weaker ones (N=2^14 before) is upgraded at the next successful login
 * (lambdas/auth/basic.ts, docs/decisions/credential-lifecycle.md).
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1, keylen: 32 };

/** True when a stored hash was made with weaker parameters than `current`. */
export const needsRehash = (p: ScryptParams, current: ScryptParams = DEFAULT_SCRYPT): boolean =>
  p.N < current.N || p.r < current.r || p.p < current.p || p.keylen !== current.keylen;

/** scrypt's work is proportional to N·r·p (its memory to 128·N·r). */
const work = (p: ScryptParams): number => p.N * p.r * p.p;

const scrypt = (password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    // Node refuses above 32 MiB by default; N=2^17, r=8 needs 128 MiB: allow twice that.
    const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 };
    scryptCb(password.normalize('NFC'), salt, p.keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<Pick<PasswordCredential, 'hash' | 'salt' | 'params'>> {
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

/**
 * After checking a hash made with weaker parameters than `current`, spends the difference, so that a
 * login whose hash awaits its upgrade costs what any other does (no timing tells it apart): decoy
 * runs at N/2, N/4, … whose work adds up to current's minus the checked hash's.
 */
export async function padToCost(checked: ScryptParams, current: ScryptParams = DEFAULT_SCRYPT): Promise<void> {
  let remaining = work(current) - work(checked);
  const salt = Buffer.alloc(16);
  for (let N = current.N / 2; N >= 2 && remaining > 0; N /= 2) {
    const run: ScryptParams = { ...current, N, p: 1 };
    if (work(run) <= remaining) {
      await scrypt('', salt, run);
      remaining -= work(run);
    }
  }
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

interface Deps {
  accounts: AccountRepository;
  credentials: CredentialRepository;
  clock: Clock;
  /** The cost of new password hashes. @default DEFAULT_SCRYPT (unit tests of the throttle lower it) */
  scrypt?: ScryptParams;
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
    await deps.credentials.putPassword({
      accountId: account.id,
      ...(await hashPassword(password, deps.scrypt ?? DEFAULT_SCRYPT)),
      updated_at: deps.clock.now().toISOString(),
    });
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
    if (!['rsa', 'ed25519', 'ecdsa'].includes(key.type))
      throw new InvalidParameterError(`${key.type} keys are not supported (rsa, ed25519, ecdsa)`);
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
    await deps.credentials.putToken({
      hash: sha256Hex(token),
      accountId: account.id,
      login: account.login,
      expires_at,
      created_at: now.toISOString(),
    });
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

// --- lifecycle: list and revoke (the admin's `key|token|aksk list|delete|revoke`) -------------------

/** What a key listing shows: public facts only. */
export interface KeySummary {
  fingerprint: string;
  sha256_fingerprint: string;
  type: string;
  name?: string;
  created_at: string;
}

/** A token listing: its id (the first 16 hex digits of the token's sha256, never the token), times. */
export interface TokenSummary {
  id: string;
  created_at: string;
  expires_at: string;
  expired: boolean;
}

/** An AK/SK listing: the access key (an identifier, not a secret) and when; the SK never. */
export interface AkskSummary {
  ak: string;
  created_at: string;
}

export const TOKEN_ID_LENGTH = 16;

const sha256FingerprintOf = (publicKey: string): string => {
  try {
    return sshpk.parseKey(publicKey, 'ssh').fingerprint('sha256', 'ssh').toString();
  } catch {
    return '';
  }
};

export const listKeys =
  (deps: Deps) =>
  async (login: string): Promise<KeySummary[]> => {
    const account = await accountOf(deps, login);
    return (await deps.credentials.listKeys(account.id)).map((k) => ({
      fingerprint: k.fingerprint,
      sha256_fingerprint: sha256FingerprintOf(k.publicKey),
      type: k.type,
      ...(k.name ? { name: k.name } : {}),
      created_at: k.created_at,
    }));
  };

export const deleteKey =
  (deps: Deps) =>
  async (login: string, fingerprint: string): Promise<{ login: string; fingerprint: string; deleted: true }> => {
    const fp = fingerprint.replace(/^md5:/i, '').toLowerCase();
    if (!/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(fp))
      throw new InvalidParameterError(`${JSON.stringify(fingerprint)} is not an MD5 key fingerprint (aa:bb:…, as \`key list\` shows)`);
    const account = await accountOf(deps, login);
    if (!(await deps.credentials.deleteKey(account.login, fp, account.id)))
      throw new NotFoundError(`key ${fp} of ${account.login} not found`);
    return { login: account.login, fingerprint: fp, deleted: true };
  };

export const listTokens =
  (deps: Deps) =>
  async (login: string): Promise<TokenSummary[]> => {
    const account = await accountOf(deps, login);
    const now = deps.clock.now().getTime();
    return (await deps.credentials.listTokens(account.id)).map((t) => ({
      id: t.hash.slice(0, TOKEN_ID_LENGTH),
      created_at: t.created_at,
      expires_at: t.expires_at,
      expired: !(Date.parse(t.expires_at) > now),
    }));
  };

/** Revokes one token of an account by the id `token list` shows (or the full sha256). */
export const revokeTokenById =
  (deps: Deps) =>
  async (login: string, id: string): Promise<{ login: string; id: string; revoked: true }> => {
    const prefix = id.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(prefix))
      throw new InvalidParameterError(`${JSON.stringify(id)} is not a token id (hex, as \`token list\` shows)`);
    const account = await accountOf(deps, login);
    const hashes =
      prefix.length === 64
        ? [prefix]
        : (await deps.credentials.listTokens(account.id)).map((t) => t.hash).filter((h) => h.startsWith(prefix));
    if (hashes.length > 1) throw new InvalidParameterError(`token id ${id} is ambiguous: give more of it`);
    if (!hashes.length || !(await deps.credentials.deleteToken(hashes[0], account.id)))
      throw new NotFoundError(`token ${id} of ${account.login} not found`);
    return { login: account.login, id: hashes[0].slice(0, TOKEN_ID_LENGTH), revoked: true };
  };

export const listAksks =
  (deps: Deps) =>
  async (login: string): Promise<AkskSummary[]> => {
    const account = await accountOf(deps, login);
    return (await deps.credentials.listAksks(account.id)).map((c) => ({ ak: c.ak, created_at: c.created_at }));
  };

export const deleteAksk =
  (deps: Deps) =>
  async (login: string, ak: string): Promise<{ login: string; ak: string; deleted: true }> => {
    if (!/^[A-Za-z0-9]{1,128}$/.test(ak)) throw new InvalidParameterError(`${JSON.stringify(ak)} is not an access key`);
    const account = await accountOf(deps, login);
    if (!(await deps.credentials.deleteAksk(ak, account.id))) throw new NotFoundError(`access key ${ak} of ${account.login} not found`);
    return { login: account.login, ak, deleted: true };
  };
