/**
 * HTTP Basic (`curl -u LOGIN:PASSWORD`, UForge clients). The password is checked against its scrypt
 * hash in constant time; an unknown login or an account without a password costs the same scrypt run,
 * so timing does not tell which logins exist. Consecutive wrong passwords are counted on the password
 * item; at PASSWORD_MAX_FAILURES the password is locked for PASSWORD_LOCK_SECONDS (every attempt is
 * refused, right or wrong), and a good password resets the count.
 */
import type { Principal } from '../core/account';
import { PASSWORD_LOCK_SECONDS, PASSWORD_MAX_FAILURES, type PasswordCredential } from '../core/credential';
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
  const account = await deps.accounts.getByLogin(creds.login);
  const stored = account ? await deps.credentials.getPassword(account.id) : undefined;
  if (!account || !stored) {
    await passwordMatches(DECOY, creds.password);
    return undefined;
  }
  const now = deps.clock.now();
  if (stored.locked_until && Date.parse(stored.locked_until) > now.getTime()) return undefined;
  if (!(await passwordMatches(stored, creds.password))) {
    await deps.credentials.recordPasswordFailure(account.id, {
      maxFailures: PASSWORD_MAX_FAILURES,
      lockUntil: new Date(now.getTime() + PASSWORD_LOCK_SECONDS * 1000).toISOString(),
    });
    return undefined;
  }
  if (stored.failures > 0 || stored.locked_until) await deps.credentials.clearPasswordFailures(account.id);
  return { accountId: account.id, login: account.login, roles: [] };
}
