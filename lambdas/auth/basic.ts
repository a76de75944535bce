/**
 * HTTP Basic (`curl -u LOGIN:PASSWORD`, UForge clients). Every attempt runs the same steps whatever
 * the outcome, so neither the answer nor its timing tells an unknown login, a blocked one and a wrong
 * password apart: reserve an attempt for (source address, login) — a conditional counter, before any
 * hash is computed, so concurrent guesses cannot overshoot the limit —, read the account and its
 * password item, run scrypt (against a decoy when there is nothing to check or the attempt was not
 * granted), then record the outcome. Throttling is per source, never per login alone, so a stranger
 * cannot lock a user out; tokens and signed requests are never throttled (docs/decisions/lockout.md).
 *
 * A hash made with weaker scrypt parameters than today's is checked at its own cost, then padded to
 * today's (padToCost) — or, when the password was right, rehashed at today's parameters and
 * written back with a conditional write that loses to any concurrent change or upgrade
 * (docs/decisions/credential-lifecycle.md). A disabled account is refused after the same steps.
 */
import { isActive, type Principal } from '../core/account';
import { LOGIN_THROTTLE, type PasswordCredential, type ScryptParams } from '../core/credential';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, padToCost, passwordMatches } from '../core/use-cases/credentials';
import type { AuthDeps, AuthRequest } from './request';
import { refuse, type AuthFailureReason } from './refusal';

/** A fixed stand-in hash at today's cost, checked when there is nothing to check against (equal timing). */
const decoy = (params: ScryptParams): Pick<PasswordCredential, 'hash' | 'salt' | 'params'> => ({
  hash: Buffer.alloc(params.keylen).toString('base64'),
  salt: Buffer.from('machine-image-service decoy salt').toString('base64'),
  params,
});

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
  if (!creds || creds.password.length > 1024 || creds.login.length > 64) return refuse(deps, 'malformed');
  const source = req.sourceIp ?? 'unknown';
  const now = deps.clock.now();
  const granted = await deps.credentials.reserveLoginAttempt(source, creds.login, LOGIN_THROTTLE, now);
  const account = await deps.accounts.getByLogin(creds.login);
  const stored = account ? await deps.credentials.getPassword(account.id) : undefined;
  const current = deps.scrypt ?? DEFAULT_SCRYPT;
  const checked = granted && stored ? stored : decoy(current);
  const matches = await passwordMatches(checked, creds.password);
  if (granted && isActive(account) && stored && matches) {
    await deps.credentials.releaseLoginAttempt(source, creds.login);
    if (needsRehash(stored.params, current)) await upgradeHash(deps, account.id, stored, creds.password, current);
    return { accountId: account.id, login: account.login, roles: [] };
  }
  await padToCost(checked.params, current);
  await deps.credentials.recordLoginFailure(source, creds.login, LOGIN_THROTTLE, now);
  const reason: AuthFailureReason = !granted
    ? 'locked'
    : !account
      ? 'unknown_login'
      : !stored
        ? 'no_password'
        : !matches
          ? 'bad_password'
          : 'disabled_account';
  return refuse(deps, reason);
}

/**
 * Rehashes a right password at today's parameters. Best effort: the login succeeds whatever happens
 * here; a write that loses its condition (a concurrent password change or upgrade) or fails is
 * simply tried again at the next login.
 */
async function upgradeHash(
  deps: AuthDeps,
  accountId: string,
  stored: PasswordCredential,
  password: string,
  current: ScryptParams,
): Promise<void> {
  try {
    await deps.credentials.upgradePassword(accountId, { hash: stored.hash, salt: stored.salt }, await hashPassword(password, current));
  } catch (err) {
    // kept as it was (the old hash still verifies); said without any detail of the credential
    console.warn(`password hash upgrade not written: ${(err as Error).name}`);
  }
}
