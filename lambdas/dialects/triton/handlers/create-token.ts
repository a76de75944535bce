/**
 * POST /{login}/tokens — CreateToken: exchanges the HTTP Basic credentials this request was
 * authenticated with (login and password; the authorizer checked them, lockout included) for a
 * short-lived API token, sent back as `X-Auth-Token` or `Authorization: Bearer`. The web console signs
 * in with it, so the password is sent once and never kept in the browser. Only a password sign-in
 * gets one: a token cannot extend itself, and key or AK/SK callers sign every request anyway.
 */
import { NotAuthorizedError } from '../../../core/errors';
import { issueToken, SIGN_IN_TOKEN_TTL_SECONDS } from '../../../core/use-cases/credentials';
import { httpHandler } from '../../../http/middleware';
import { accountRepository, clock, credentialRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';

export const handler = httpHandler({ operation: 'CreateToken', renderer: tritonRenderer }, async (req) => {
  const scheme = (req.event.requestContext?.authorizer as Record<string, unknown> | null | undefined)?.scheme;
  if (scheme !== 'basic') throw new NotAuthorizedError('a token is issued only for a login and password (HTTP Basic)');
  const out = await issueToken({ accounts: accountRepository(), credentials: credentialRepository(), clock })(req.caller.login, {
    ttlSeconds: SIGN_IN_TOKEN_TTL_SECONDS,
  });
  return {
    status: 201,
    headers: { 'cache-control': 'no-store' },
    body: { token: out.token, login: out.login, expires_at: out.expires_at, expires_in: SIGN_IN_TOKEN_TTL_SECONDS },
  };
});
