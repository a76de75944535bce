/**
 * The API's one REQUEST authorizer: resolves the caller to an account and hands handlers
 * `{accountId, login, roles}` in the request context. Handlers never take the caller from the path.
 *
 * Schemes land with the authentication work (HTTP Signature, Basic, IMS tokens and AK/SK). Until
 * then the only scheme is the development one, enabled solely by `AUTH_MODE=trust-path-login`
 * (which only the local stack sets): the `{login}` in the path names the caller. With any other
 * setting every request is refused, so a deployed stack is closed, never open.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { Principal } from '../core/account';
import { accountRepository } from '../wiring';

export class UnauthorizedError extends Error {
  constructor() {
    super('Unauthorized'); // API Gateway turns exactly this message into a 401
  }
}

export async function resolveCaller(event: APIGatewayRequestAuthorizerEvent): Promise<Principal | undefined> {
  if (process.env.AUTH_MODE !== 'trust-path-login') return undefined;
  const login = event.pathParameters?.login;
  if (!login || login === 'my') return undefined;
  const account = await accountRepository().getByLogin(login);
  return account ? { accountId: account.id, login: account.login, roles: [] } : undefined;
}

/** Allows every method of this API for the resolved caller; results are never cached (TTL 0). */
function allowAll(methodArn: string, principal: Principal): APIGatewayAuthorizerResult {
  const [arnPrefix, apiId, stage] = methodArn.split('/');
  return {
    principalId: principal.accountId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${apiId}/${stage}/*` }],
    },
    context: { accountId: principal.accountId, login: principal.login, roles: principal.roles.join(',') },
  };
}

export const handler = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const principal = await resolveCaller(event);
  if (!principal) throw new UnauthorizedError();
  return allowAll(event.methodArn, principal);
};
