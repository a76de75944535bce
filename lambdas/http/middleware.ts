/**
 * The one middy stack every route handler shares: it reads the caller from the authorizer context,
 * parses the JSON body, runs the operation, and renders any error in the dialect's own shape.
 * Only ServiceErrors (the core's, all below 500) are exposed; anything else is a bare 500 with a
 * request id, logged with its stack. Handlers hold no try/catch and no status codes.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/account';
import { verifyAkskBody } from '../auth/aksk';
import { authRequestFrom } from '../auth/request';
import { accountRepository, clock, credentialRepository } from '../wiring';
import { assertNoControlCharacters } from '../core/text';
import { correlationIdFrom, withCorrelationId } from '../observability/correlation';
import { logger, powertools } from '../observability/powertools';
import { InvalidCredentialsError, MalformedRequestError, NotAuthorizedError, RequestTooLargeError, ServiceError, isServiceError } from '../core/errors';

export { logger };

export interface HttpRequest {
  operation: string;
  requestId: string;
  caller: Principal;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON body; `undefined` when the request has none. */
  body: unknown;
  event: APIGatewayProxyEvent;
  /** The Lambda context (remaining time), when the handler runs in one. */
  context?: Context;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a dialect supplies: how errors look on its wire, and the headers it always sends. */
export interface DialectRenderer {
  renderError(error: ServiceError | undefined, req: ErrorContext): HttpResponse;
  headers(req: { requestId: string; startedAt: number }): Record<string, string>;
  /** Whether the `{login}`-style path parameter names the caller (else NotAuthorized). */
  pathOwner?: string;
  /** Writes a response body (default: JSON); UForge answers XML or JSON by `Accept`. */
  serialize?(body: unknown, req: { headers: Record<string, string> }): { text: string; contentType: string };
}

/** What an error renderer may use: the request's identity, method, path and (lowercased) headers. */
export interface ErrorContext {
  requestId: string;
  operation: string;
  method: string;
  path: string;
  headers: Record<string, string>;
}

export const MAX_BODY_BYTES = 64 * 1024;

function principalFrom(event: APIGatewayProxyEvent): Principal | undefined {
  const ctx = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  if (!ctx || typeof ctx.accountId !== 'string' || typeof ctx.login !== 'string') return undefined;
  const roles = typeof ctx.roles === 'string' && ctx.roles ? ctx.roles.split(',') : [];
  return { accountId: ctx.accountId, login: ctx.login, roles };
}

/**
 * The path parameters that name the caller, whatever the dialect: Triton's `{login}`, UForge's `{uid}`
 * (a login, or `my`), IMS's `{project_id}` (the account id). Anything else is NotAuthorized.
 */
const CALLER_PARAMS: Record<string, (caller: Principal) => string> = {
  login: (c) => c.login,
  uid: (c) => c.login,
  project_id: (c) => c.accountId,
};

function assertPathNamesCaller(params: Record<string, string>, caller: Principal): void {
  for (const [name, expected] of Object.entries(CALLER_PARAMS)) {
    const value = params[name];
    if (value === undefined || value === 'my' || value.toLowerCase() === expected(caller).toLowerCase()) continue;
    throw new NotAuthorizedError(`${caller.login} is not allowed to act as ${value}`);
  }
}

/** The AK/SK half the authorizer cannot do without the body (lambdas/auth/aksk.ts). */
async function bodyMatchesSignature(event: APIGatewayProxyEvent): Promise<boolean> {
  const ctx = (event.requestContext?.authorizer ?? {}) as Record<string, unknown>;
  if (ctx.bodySha256 === undefined && ctx.akskPending === undefined && ctx.akskUnsignedPayload === undefined) return true;
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return verifyAkskBody(ctx, authRequestFrom(event), body, { accounts: accountRepository(), credentials: credentialRepository(), clock });
}

function lowerHeaders(h: Record<string, string | undefined> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

function parseBody(event: APIGatewayProxyEvent, parser?: BodyParser): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES) throw new RequestTooLargeError(`request body exceeds ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  if (parser) {
    body = parser(raw, lowerHeaders(event.headers));
  } else {
    try {
      body = JSON.parse(raw);
    } catch {
      throw new MalformedRequestError('request body is not valid JSON');
    }
  }
  assertNoControlCharacters(body); // every stored string is shown to others (core/text.ts)
  return body;
}

export interface HandlerOptions {
  operation: string;
  renderer: DialectRenderer;
  /** Anonymous routes (the ping) need no caller. */
  anonymous?: boolean;
  /** Reads a non-empty body instead of JSON.parse (it throws ServiceErrors for bad bodies). */
  parseBody?: BodyParser;
}

export type BodyParser = (raw: string, headers: Record<string, string>) => unknown;

export function httpHandler(options: HandlerOptions, run: (req: HttpRequest) => Promise<HttpResponse>) {
  const { operation, renderer } = options;
  const core = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const startedAt = Date.now();
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? randomUUID();
    const correlationId = correlationIdFrom(event.headers, event.requestContext?.requestId ?? requestId);
    logger.appendKeys({ correlation_id: correlationId, operation });
    let res: HttpResponse;
    try {
      const params = Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, decodeURIComponent(v ?? '')]));
      const caller = principalFrom(event);
      if (!caller && !options.anonymous) throw new NotAuthorizedError('you are not authorized to do this');
      // The signature first: nothing about the caller (its login in a 403) may answer an unverified request.
      if (caller && !(await bodyMatchesSignature(event))) throw new InvalidCredentialsError('the request signature does not match its body');
      const owner = renderer.pathOwner ? params[renderer.pathOwner] : undefined;
      if (caller && owner !== undefined && owner !== 'my' && owner.toLowerCase() !== caller.login.toLowerCase()) {
        throw new NotAuthorizedError(`${caller.login} is not allowed to act as ${owner}`);
      }
      if (caller) assertPathNamesCaller(params, caller);
      const request: HttpRequest = {
        operation,
        requestId,
        caller: caller ?? { accountId: '', login: '', roles: [] },
        params,
        query: Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>,
        headers: lowerHeaders(event.headers),
        body: parseBody(event, options.parseBody),
        event,
        context,
      };
      res = await withCorrelationId(correlationId, () => run(request));
    } catch (err) {
      const ctx: ErrorContext = { requestId, operation, method: event.httpMethod, path: event.path, headers: lowerHeaders(event.headers) };
      if (isServiceError(err)) {
        logger.info('request refused', { operation, requestId, code: err.code, message: err.message });
        res = renderer.renderError(err, ctx);
      } else {
        logger.error('request failed', { operation, requestId, error: err as Error });
        res = renderer.renderError(undefined, ctx);
      }
    }
    const serialized =
      res.body === undefined
        ? undefined
        : renderer.serialize
          ? renderer.serialize(res.body, { headers: lowerHeaders(event.headers) })
          : { text: JSON.stringify(res.body), contentType: 'application/json' };
    const body = serialized?.text ?? '';
    logger.info('request', { operation, requestId, status: res.status, ms: Date.now() - startedAt });
    return {
      statusCode: res.status,
      headers: {
        ...renderer.headers({ requestId, startedAt }),
        ...(serialized ? { 'content-type': serialized.contentType, 'content-length': String(Buffer.byteLength(body)) } : {}),
        ...res.headers,
      },
      body,
    };
  };
  return middy(core).use(powertools());
}
