/**
 * DELETE /{login}/tokens/current — RevokeToken: sign-out. Deletes the token this very request carries
 * (`X-Auth-Token` or `Authorization: Bearer`), so a token never travels in a path or a log line; the
 * next request with it is 401. Answers 204 (also when it was already revoked by a concurrent sign-out).
 */
import { InvalidArgumentError } from '../../../core/errors';
import { revokeToken } from '../../../core/use-cases/credentials';
import { authRequestFrom } from '../../../auth/request';
import { tokenOf } from '../../../auth/token';
import { httpHandler } from '../../../http/middleware';
import { credentialRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';

export const handler = httpHandler({ operation: 'RevokeToken', renderer: tritonRenderer }, async (req) => {
  const scheme = (req.event.requestContext?.authorizer as Record<string, unknown> | null | undefined)?.scheme;
  const token = scheme === 'token' ? tokenOf(authRequestFrom(req.event)) : undefined;
  if (!token)
    throw new InvalidArgumentError('sign-out revokes the token the request is authenticated with (X-Auth-Token or Authorization: Bearer)');
  await revokeToken({ credentials: credentialRepository() })(req.caller, token);
  return { status: 204 };
});
