/**
 * HTTP Basic (`curl -u LOGIN:PASSWORD`, UForge clients). Every attempt runs the same steps whatever
 * the outcome, so neither the answer nor its timing tells an unknown login, a blocked one and a wrong
 * password apart: reserve an attempt for (source address, login) — a conditional counter, before any
 * hash is computed, so concurrent guesses cannot overshoot the limit —, read the account and its
 * password item, run scrypt (against a decoy when there is nothing to check or the attempt was not
 * granted), then record the outcome. Throttling is per source, never per login alone, so a stranger
 * cannot lock a user out; tokens and signed requests are never throttled (docs/decisions/lockout.md).
 */
import type { Principal } from '../core/account';
import { LOGIN_THROTTLE, type PasswordCredential } from '../core/credential';
import { DEFAULT_SCRYPT, passwordMatches } from '../core/use-cases/credentials';
import type { AuthDeps, AuthRequest } from './request';

/** A fixed stand-in hash, checked when there is nothing to check against (equal timing). */
const DECOY: Pick<PasswordCredential, 'hash' | 'salt' | 'params'> = {
  hash: Buffer.alloc(DEFAULT_SCRYPT.keylen).toString('base64'),
  salt: Buffer.from('machine-image-service decoy salt').toString('base64'),
  params: DEFAULT_SCRYPT,
};

export function parseBasic(header: string | undefined): { login: string; password: string } | undefined {
  const m = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const isBasicAuth = (req: AuthRequest): boolean => /^basic\s/i.test(req.headers.authorization ?? '');

export async function authenticateBasic(req: AuthRequest, deps: AuthDeps): Promise<Principal | undefined> {
  const creds = parseBasic(req.headers.authorization);
  if (!creds || creds.password.length > 1024 || creds.login.length > 64) return undefined;
  const source = req.sourceIp ?? 'unknown';
  const now = deps.clock.now();
  const granted = await deps.credentials.reserveLoginAttempt(source, creds.login, LOGIN_THROTTLE, now);
  const account = await deps.accounts.getByLogin(creds.login);
  const stored = account ? await deps.credentials.getPassword(account.id) : undefined;
  const matches = await passwordMatches(granted && stored ? stored : DECOY, creds.password);
  if (granted && account && stored && matches) {
    await deps.credentials.releaseLoginAttempt(source, creds.login);
    return { accountId: account.id, login: account.login, roles: [] };
  }
  await deps.credentials.recordLoginFailure(source, creds.login, LOGIN_THROTTLE, now);
  return undefined;
}
