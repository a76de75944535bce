/**
 * The API's one REQUEST authorizer: resolves the caller to an account and hands handlers
 * `{accountId, login, roles}` in the request context. Handlers never take the caller from the path.
 *
 * Any scheme works on any route (a curl user may call Triton routes with Basic or a token):
 *   Authorization: Signature keyId=…         HTTP Signature, the triton CLI        (signature.ts)
 *   Authorization: Basic …                   HTTP Basic, UForge clients and curl   (basic.ts)
 *   X-Auth-Token: … / Authorization: Bearer  IMS tokens issued by the admin        (token.ts)
 *   Authorization: SDK-HMAC-SHA256 Access=…  Huawei AK/SK signing                  (aksk.ts)
 * Anonymous requests and bad credentials get `Unauthorized` (API Gateway's 401; its gateway response
 * renders the dialect-neutral body). Malformed credentials never raise anything else; only a failing
 * dependency (DynamoDB) propagates, which API Gateway reports as a 500.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import middy from '@middy/core';
import type { Principal } from '../core/account';
import { correlationIdFrom } from '../observability/correlation';
import { countAuthFailure, logger, powertools } from '../observability/powertools';
import { accountRepository, clock, credentialRepository } from '../wiring';
import { authenticateAksk, isAkskAuth } from './aksk';
import { authenticateBasic, isBasicAuth } from './basic';
import { authRequestFrom, type AuthDeps, type AuthRequest } from './request';
import type { AuthFailureReason } from './refusal';
import { authenticateSignature, isSignatureAuth } from './signature';
import { authenticateToken, isTokenAuth } from './token';

export class UnauthorizedError extends Error {
  constructor() {
    super('Unauthorized'); // API Gateway turns exactly this message into a 401
  }
}

export type Scheme = 'signature' | 'basic' | 'token' | 'aksk';

export interface Authenticated {
  principal: Principal;
  scheme: Scheme;
  /** Extra context the shared middleware enforces (the AK/SK body check). */
  extra: Record<string, string>;
}

export async function authenticate(req: AuthRequest, deps: AuthDeps): Promise<Authenticated | undefined> {
  if (isSignatureAuth(req)) {
    const principal = await authenticateSignature(req, deps);
    return principal && { principal, scheme: 'signature', extra: {} };
  }
  if (isBasicAuth(req)) {
    const principal = await authenticateBasic(req, deps);
    return principal && { principal, scheme: 'basic', extra: {} };
  }
  if (isAkskAuth(req)) {
    const result = await authenticateAksk(req, deps);
    if (!result) return undefined;
    const extra: Record<string, string> = result.verified
      ? result.bodySha256
        ? { bodySha256: result.bodySha256 }
        : { akskUnsignedPayload: 'true' }
      : { akskPending: 'true' };
    return { principal: result.principal, scheme: 'aksk', extra };
  }
  if (isTokenAuth(req)) {
    const principal = await authenticateToken(req, deps);
    return principal && { principal, scheme: 'token', extra: {} };
  }
  return undefined; // anonymous, or a scheme we do not speak
}

export const authDeps = (): AuthDeps => ({ accounts: accountRepository(), credentials: credentialRepository(), clock });

/** Allows every method of this API for the resolved caller; results are never cached (TTL 0). */
function allowAll(methodArn: string, auth: Authenticated): APIGatewayAuthorizerResult {
  const [arnPrefix, apiId, stage] = methodArn.split('/');
  const { principal } = auth;
  return {
    principalId: principal.accountId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${apiId}/${stage}/*` }],
    },
    context: {
      accountId: principal.accountId,
      login: principal.login,
      roles: principal.roles.join(','),
      scheme: auth.scheme,
      ...auth.extra,
    },
  };
}

/** The scheme a request tried (whether or not it proved anything), for the AuthFailures metric. */
export function attemptedScheme(req: AuthRequest): Scheme | undefined {
  if (isSignatureAuth(req)) return 'signature';
  if (isBasicAuth(req)) return 'basic';
  if (isAkskAuth(req)) return 'aksk';
  if (isTokenAuth(req)) return 'token';
  return undefined;
}

/**
 * A refusal is logged with the scheme, the reason (lambdas/auth/refusal.ts: unknown login, bad
 * password, locked, expired token, bad signature, disabled account, …) and the source address — never
 * the credentials — and counted (AuthFailures by Scheme; AuthFailuresByReason by Scheme and Reason).
 * The caller gets the same 401 whatever the reason. Anonymous requests are refused without either: no
 * login failed.
 */
const core = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const req = authRequestFrom(event);
  logger.appendKeys({ correlation_id: correlationIdFrom(event.headers, event.requestContext?.requestId ?? '-') });
  let reason: AuthFailureReason | undefined;
  const auth = await authenticate(req, {
    ...authDeps(),
    onRefused: (r) => {
      reason = r;
    },
  });
  if (!auth) {
    const scheme = attemptedScheme(req);
    if (scheme) {
      countAuthFailure(scheme, reason ?? 'malformed');
      logger.warn('authentication failed', {
        scheme,
        reason: reason ?? 'malformed',
        source: req.sourceIp ?? 'unknown',
        method: req.method,
        path: req.paths[0],
      });
    }
    throw new UnauthorizedError();
  }
  logger.debug('authenticated', { scheme: auth.scheme, account_id: auth.principal.accountId });
  return allowAll(event.methodArn, auth);
};

// No early timeout: an authorizer that outlives its function fails as Lambda reports it (see lambdas/observability/powertools.ts).
export const handler = middy(core, { timeoutEarlyInMillis: 0 }).use(powertools());
