/**
 * API tokens (IMS clients send `X-Auth-Token: <token>`; `Authorization: Bearer <token>` is accepted
 * too). Tokens are issued by `npm run admin -- token create`, stored only as their sha256 (one GetItem
 * by that digest), and refused once past `expires_at` — the table's TTL deletes expired items only
 * eventually (hours, maybe days, later), and dynalite never does —, when the password changed after
 * they were issued, or while the account is disabled.
 */
import { isActive, type Principal } from '../core/account';
import { sha256Hex } from '../core/use-cases/credentials';
import type { AuthDeps, AuthRequest } from './request';
import { refuse } from './refusal';

export function tokenOf(req: AuthRequest): string | undefined {
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const token = bearer?.[1] ?? req.headers['x-auth-token']?.trim();
  return token && token.length <= 4096 ? token : undefined;
}

export const isTokenAuth = (req: AuthRequest): boolean =>
  /^bearer\s/i.test(req.headers.authorization ?? '') || (!req.headers.authorization && req.headers['x-auth-token'] !== undefined);

export async function authenticateToken(req: AuthRequest, deps: AuthDeps): Promise<Principal | undefined> {
  const token = tokenOf(req);
  if (!token) return refuse(deps, 'malformed');
  const cred = await deps.credentials.getToken(sha256Hex(token));
  if (!cred) return refuse(deps, 'unknown_token');
  if (!(Date.parse(cred.expires_at) > deps.clock.now().getTime())) return refuse(deps, 'expired_token');
  // A password change revokes every token issued before it.
  const password = await deps.credentials.getPassword(cred.accountId);
  if (password && Date.parse(cred.created_at) < Date.parse(password.updated_at)) return refuse(deps, 'revoked_token');
  const account = await deps.accounts.get(cred.accountId);
  if (!account) return refuse(deps, 'unknown_account');
  return isActive(account) ? { accountId: account.id, login: account.login, roles: [] } : refuse(deps, 'disabled_account');
}
