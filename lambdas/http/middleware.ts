/**
 * The one middy stack every route handler shares: it reads the caller from the authorizer context,
 * parses the JSON body, runs the operation, and renders any error in the dialect's own shape.
 * Only ServiceErrors (the core's, all below 500) are exposed; anything else is a bare 500 with a
 * request id, logged with its stack. Handlers hold no try/catch and no status codes.
 */
import middy from '@middy/core';
import httpContentNegotiation from '@middy/http-content-negotiation';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/account';
import { verifyAkskBody } from '../auth/aksk';
import { authRequestFrom } from '../auth/request';
import { accountRepository, clock, credentialRepository } from '../wiring';
import { assertNoControlCharacters } from '../core/text';
import { correlationIdFrom, withCorrelationId } from '../observability/correlation';
import { logger, powertools } from '../observability/powertools';
import {
  InvalidCredentialsError,
  MalformedRequestError,
  NotAuthorizedError,
  RequestTooLargeError,
  type ServiceError,
  isServiceError,
} from '../core/errors';

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
  /**
   * The media types it answers in, the default first, when it negotiates them by `Accept`
   * (@middy/http-content-negotiation); without them every answer is JSON.
   */
  mediaTypes?: readonly string[];
  /**
   * Writes a response body (default: JSON) in `mediaType`, the one negotiated from `mediaTypes` (the
   * default when `Accept` names none of them); UForge answers XML or JSON.
   */
  serialize?(body: unknown, req: { headers: Record<string, string>; mediaType?: string }): { text: string; contentType: string };
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

export interface HandlerOptions {
  operation: string;
  renderer: DialectRenderer;
  /** Anonymous routes (the ping) need no caller. */
  anonymous?: boolean;
  /** Reads a non-empty body instead of JSON.parse (it throws ServiceErrors for bad bodies). */
  parseBody?: BodyParser;
}

/** Reads a non-empty body; `json` parses JSON as every other route does (@middy/http-json-body-parser). */
export type BodyParser = (raw: string, headers: Record<string, string>, json: (raw: string) => unknown) => unknown;

/** What the middlewares below work out once per request, keyed by its event. */
interface RequestState {
  requestId: string;
  correlationId: string;
  startedAt: number;
  caller?: Principal;
  params: Record<string, string>;
}

type Middleware = middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult | HttpResponse, Error, Context>;
type Request = middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult | HttpResponse, Error, Context>;

/**
 * Security headers on every answer, errors included (@middy/http-security-headers): an API answers
 * JSON/XML to programs, so the browser-facing ones are kept and nothing is allowed to frame, sniff or
 * embed it. No CORS: no browser client calls this API from another origin.
 */
const SECURITY_HEADERS = {
  contentSecurityPolicy: { 'default-src': "'none'", 'frame-ancestors': "'none'" },
  crossOriginEmbedderPolicy: false,
  reportTo: false,
  reportingEndpoints: false,
  permissionsPolicy: false,
} as const;

/**
 * The dialect's answers (ours: no middleware renders Triton, IMS and UForge error shapes —
 * @middy/http-error-handler writes its own plain shape). Its `after` turns the handler's HttpResponse
 * into API Gateway's result (the dialect's serializer and headers); its `onError` renders a
 * ServiceError (all below 500) in the dialect's shape, and anything else as a bare 500 with the
 * request id, logged with its stack — whichever middleware or the handler threw it.
 */
function dialectResponses(options: HandlerOptions, states: WeakMap<object, RequestState>): Middleware {
  const { operation, renderer } = options;
  const finish = (request: Request, res: HttpResponse): APIGatewayProxyResult => {
    const { event, context } = request;
    const state = states.get(event) ?? begin(request);
    const headers = lowerHeaders(event.headers);
    const mediaType = (context as (Context & { preferredMediaType?: string }) | undefined)?.preferredMediaType;
    const serialized =
      res.body === undefined
        ? undefined
        : renderer.serialize
          ? renderer.serialize(res.body, { headers, mediaType })
          : { text: JSON.stringify(res.body), contentType: 'application/json' };
    const body = serialized?.text ?? '';
    logger.info('request', { operation, requestId: state.requestId, status: res.status, ms: Date.now() - state.startedAt });
    return {
      statusCode: res.status,
      headers: {
        ...renderer.headers({ requestId: state.requestId, startedAt: state.startedAt }),
        ...(serialized ? { 'content-type': serialized.contentType, 'content-length': String(Buffer.byteLength(body)) } : {}),
        ...res.headers,
      },
      body,
    };
  };
  const begin = (request: Request): RequestState => {
    const { event, context } = request;
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? randomUUID();
    const state: RequestState = {
      requestId,
      correlationId: correlationIdFrom(event.headers, event.requestContext?.requestId ?? requestId),
      startedAt: Date.now(),
      params: {},
    };
    states.set(event, state);
    logger.appendKeys({ correlation_id: state.correlationId, operation });
    return state;
  };
  return {
    before: (request) => {
      begin(request);
    },
    after: (request) => {
      request.response = finish(request, request.response as HttpResponse);
    },
    onError: (request) => {
      const { event, error: err } = request;
      const state = states.get(event) ?? begin(request);
      const ctx: ErrorContext = {
        requestId: state.requestId,
        operation,
        method: event.httpMethod,
        path: event.path,
        headers: lowerHeaders(event.headers),
      };
      let res: HttpResponse;
      if (isServiceError(err)) {
        logger.info('request refused', { operation, requestId: state.requestId, code: err.code, message: err.message });
        res = renderer.renderError(err, ctx);
      } else {
        logger.error('request failed', { operation, requestId: state.requestId, error: err as Error });
        res = renderer.renderError(undefined, ctx);
      }
      request.response = finish(request, res);
    },
  };
}

/**
 * Who calls, checked before the body is read (ours: it needs the authorizer's context and the raw
 * body): a caller unless the route is anonymous; the AK/SK signature against the raw body first —
 * nothing about the caller (its login in a 403) may answer an unverified request; then the path
 * parameters that name the caller.
 */
function callerChecks(options: HandlerOptions, states: WeakMap<object, RequestState>): Middleware {
  const { renderer } = options;
  return {
    before: async ({ event }) => {
      const state = states.get(event)!;
      state.params = Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, decodeURIComponent(v ?? '')]));
      const caller = principalFrom(event);
      if (!caller && !options.anonymous) throw new NotAuthorizedError('you are not authorized to do this');
      if (caller && !(await bodyMatchesSignature(event)))
        throw new InvalidCredentialsError('the request signature does not match its body');
      const owner = renderer.pathOwner ? state.params[renderer.pathOwner] : undefined;
      if (caller && owner !== undefined && owner !== 'my' && owner.toLowerCase() !== caller.login.toLowerCase()) {
        throw new NotAuthorizedError(`${caller.login} is not allowed to act as ${owner}`);
      }
      if (caller) assertPathNamesCaller(state.params, caller);
      state.caller = caller;
    },
  };
}

/**
 * The body: at most MAX_BODY_BYTES (ours: the limit is the service's, in the dialect's error), then
 * JSON through @middy/http-json-body-parser (whatever the content type says, as before: clients send
 * JSON with and without it; it also refuses `__proto__` keys) or the dialect's own reader (UForge:
 * XML by its parser, JSON by this same middy parser, chosen by Content-Type). Every string is then
 * checked for control characters (core/text.ts: stored strings are shown to others). No body stays
 * `undefined`.
 */
function bodyParsing(options: HandlerOptions): Middleware {
  const json = httpJsonBodyParser({ disableContentTypeCheck: true });
  const readJson = (raw: string): unknown => {
    const parsed = { event: { headers: {}, body: raw, isBase64Encoded: false } };
    try {
      json.before!(parsed as never);
    } catch {
      throw new MalformedRequestError('request body is not valid JSON');
    }
    return parsed.event.body;
  };
  return {
    before: async (request) => {
      const { event } = request;
      if (event.body === null || event.body === undefined || event.body === '') {
        event.body = undefined as unknown as string;
        return;
      }
      const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
      if (Buffer.byteLength(raw) > MAX_BODY_BYTES) throw new RequestTooLargeError(`request body exceeds ${MAX_BODY_BYTES} bytes`);
      event.body = (options.parseBody ? options.parseBody(raw, lowerHeaders(event.headers), readJson) : readJson(raw)) as string;
      assertNoControlCharacters(event.body);
    },
  };
}

/**
 * `Accept` against the dialect's media types (@middy/http-content-negotiation, which sets the
 * context's `preferredMediaType`): never a 406 — a type the dialect does not write, or a malformed
 * header, gets its default (the first), as UForge answers XML to anything else.
 */
function contentNegotiation(mediaTypes: readonly string[]): Middleware {
  return httpContentNegotiation({
    parseCharsets: false,
    parseEncodings: false,
    parseLanguages: false,
    availableMediaTypes: [...mediaTypes],
    defaultToFirstMediaType: true,
    failOnMismatch: false,
  }) as Middleware;
}

/**
 * The one middy stack every route handler shares, outermost first: Powertools (Lambda context and
 * correlation id on the logger, trace, metrics), header normalising (@middy/http-header-normalizer:
 * lowercased names), content negotiation when the dialect writes more than JSON, security headers,
 * the dialect's answers and errors, the caller checks, the body. The handler itself only runs the
 * operation.
 */
export function httpHandler(options: HandlerOptions, run: (req: HttpRequest) => Promise<HttpResponse>) {
  const { operation } = options;
  const states = new WeakMap<object, RequestState>();
  const core = async (event: APIGatewayProxyEvent, context: Context): Promise<HttpResponse> => {
    const state = states.get(event)!;
    const request: HttpRequest = {
      operation,
      requestId: state.requestId,
      caller: state.caller ?? { accountId: '', login: '', roles: [] },
      params: state.params,
      query: Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
      headers: lowerHeaders(event.headers),
      body: event.body as unknown,
      event,
      context,
    };
    return withCorrelationId(state.correlationId, () => run(request));
  };
  const negotiation = options.renderer.mediaTypes ? [contentNegotiation(options.renderer.mediaTypes)] : [];
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult | HttpResponse, Error, Context>(core)
    .use(powertools() as Middleware[])
    .use(httpHeaderNormalizer() as Middleware)
    .use(negotiation)
    .use(httpSecurityHeaders(SECURITY_HEADERS) as Middleware)
    .use(dialectResponses(options, states))
    .use(callerChecks(options, states))
    .use(bodyParsing(options)) as unknown as (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
}
