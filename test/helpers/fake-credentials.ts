/** In-memory AccountRepository and CredentialRepository for unit tests of the authorizer (no network). */
import type { Account } from '../../lambdas/core/account';
import {
  lockSecondsFor,
  type ScryptParams,
  type AkskCredential,
  type LoginThrottlePolicy,
  type PasswordCredential,
  type SshKeyCredential,
  type TokenCredential,
} from '../../lambdas/core/credential';
import type { AccountRepository, Clock, CredentialRepository } from '../../lambdas/core/ports';
import type { AuthDeps } from '../../lambdas/auth/request';
import { NotFoundError } from '../../lambdas/core/errors';

export class FakeAccounts implements AccountRepository {
  items = new Map<string, Account>();
  async create(a: Account) {
    this.items.set(a.id, { ...a });
  }
  async get(id: string) {
    return this.items.get(id);
  }
  async getByLogin(login: string) {
    return [...this.items.values()].find((a) => a.login.toLowerCase() === login.toLowerCase());
  }
  async setDisabled(id: string, disabledAt: string | undefined) {
    const a = this.items.get(id);
    if (!a) throw new NotFoundError(`account ${id} not found`);
    const next: Account = { ...a };
    if (disabledAt) next.disabled_at = disabledAt;
    else delete next.disabled_at;
    this.items.set(id, next);
    return { ...next };
  }
}

export class FakeCredentials implements CredentialRepository {
  keys = new Map<string, SshKeyCredential>();
  passwords = new Map<string, PasswordCredential>();
  tokens = new Map<string, TokenCredential>();
  aksks = new Map<string, AkskCredential>();
  async putKey(k: SshKeyCredential) {
    this.keys.set(`${k.login.toLowerCase()}#${k.fingerprint}`, { ...k });
  }
  async getKey(login: string, fp: string) {
    return this.keys.get(`${login.toLowerCase()}#${fp.toLowerCase()}`);
  }
  async putPassword(c: PasswordCredential) {
    this.passwords.set(c.accountId, { ...c });
  }
  async getPassword(id: string) {
    const c = this.passwords.get(id);
    return c && { ...c };
  }
  /** Per (source, login) attempt counters, as the DynamoDB adapter keeps them. */
  throttle = new Map<string, { attempts: number; strikes: number; blocked_until?: string; touched_at: string }>();
  async reserveLoginAttempt(source: string, login: string, policy: LoginThrottlePolicy, now: Date) {
    const k = `${source}#${login.toLowerCase()}`;
    const t = this.throttle.get(k) ?? { attempts: 0, strikes: 0, touched_at: now.toISOString() };
    if (t.blocked_until && t.blocked_until > now.toISOString()) return false;
    if (t.attempts >= policy.maxAttempts) {
      if (t.touched_at >= new Date(now.getTime() - policy.staleSeconds * 1000).toISOString()) return false;
      t.attempts = 0;
    }
    this.throttle.set(k, { ...t, attempts: t.attempts + 1, touched_at: now.toISOString() });
    return true;
  }
  async recordLoginFailure(source: string, login: string, policy: LoginThrottlePolicy, now: Date) {
    const t = this.throttle.get(`${source}#${login.toLowerCase()}`);
    if (!t || t.attempts < policy.maxAttempts || (t.blocked_until && t.blocked_until > now.toISOString())) return;
    Object.assign(t, {
      attempts: 0,
      strikes: t.strikes + 1,
      blocked_until: new Date(now.getTime() + lockSecondsFor(policy, t.strikes) * 1000).toISOString(),
    });
  }
  async releaseLoginAttempt(source: string, login: string) {
    const t = this.throttle.get(`${source}#${login.toLowerCase()}`);
    if (t && t.attempts > 0) Object.assign(t, { attempts: t.attempts - 1, strikes: 0 });
  }
  async putToken(t: TokenCredential) {
    this.tokens.set(t.hash, { ...t });
  }
  async getToken(hash: string) {
    return this.tokens.get(hash);
  }
  async deleteToken(hash: string, accountId: string) {
    const t = this.tokens.get(hash);
    if (!t || t.accountId !== accountId) return false;
    return this.tokens.delete(hash);
  }
  async putAksk(c: AkskCredential) {
    this.aksks.set(c.ak, { ...c });
  }
  async getAksk(ak: string) {
    return this.aksks.get(ak);
  }
  async upgradePassword(
    accountId: string,
    expect: { hash: string; salt: string },
    next: Pick<PasswordCredential, 'hash' | 'salt' | 'params'>,
  ) {
    const c = this.passwords.get(accountId);
    if (!c || c.hash !== expect.hash || c.salt !== expect.salt) return false;
    this.passwords.set(accountId, { ...c, ...next });
    return true;
  }
  private static byCreation = <T extends { created_at: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  async listKeys(accountId: string) {
    return FakeCredentials.byCreation([...this.keys.values()].filter((k) => k.accountId === accountId));
  }
  async listTokens(accountId: string) {
    return FakeCredentials.byCreation([...this.tokens.values()].filter((t) => t.accountId === accountId));
  }
  async listAksks(accountId: string) {
    return FakeCredentials.byCreation([...this.aksks.values()].filter((c) => c.accountId === accountId));
  }
  async deleteKey(login: string, fp: string, accountId: string) {
    const k = `${login.toLowerCase()}#${fp.toLowerCase()}`;
    return this.keys.get(k)?.accountId === accountId && this.keys.delete(k);
  }
  async deleteAksk(ak: string, accountId: string) {
    return this.aksks.get(ak)?.accountId === accountId && this.aksks.delete(ak);
  }
}

export class MutableClock implements Clock {
  constructor(public current = new Date()) {}
  now() {
    return new Date(this.current);
  }
}

/**
 * scrypt at N=2^10 for in-memory unit tests of the throttle policy, which run dozens of logins: the
 * policy is what they test; OWASP's cost (DEFAULT_SCRYPT) is what the local stack and its tests run.
 */
export const UNIT_TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1, keylen: 32 };

export function authWorld(): AuthDeps & {
  accounts: FakeAccounts;
  credentials: FakeCredentials;
  clock: MutableClock;
  scrypt: ScryptParams;
} {
  return { accounts: new FakeAccounts(), credentials: new FakeCredentials(), clock: new MutableClock(), scrypt: UNIT_TEST_SCRYPT };
}

/** A REST API REQUEST authorizer event (the fields the schemes read). */
export function authorizerEvent(opts: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string[]>;
  stagePath?: string;
}) {
  const single = opts.query ? Object.fromEntries(Object.entries(opts.query).map(([k, v]) => [k, v[v.length - 1]])) : null;
  return {
    type: 'REQUEST' as const,
    methodArn: `arn:aws:execute-api:us-east-1:000000000000:api/prod/${opts.method}${opts.path}`,
    resource: opts.path,
    path: opts.path,
    httpMethod: opts.method,
    headers: opts.headers ?? {},
    multiValueHeaders: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k, [v]])),
    pathParameters: null,
    queryStringParameters: single,
    multiValueQueryStringParameters: opts.query ?? null,
    stageVariables: null,
    requestContext: { path: opts.stagePath ?? opts.path, httpMethod: opts.method },
  };
}
