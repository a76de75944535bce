/**
 * The local API Gateway: an HTTP server generated from the same route table the CDK API reads.
 * It matches a request to a route, runs the REQUEST authorizer in-process for authenticated routes,
 * builds a REST API proxy event (v1) with the authorizer's context, and invokes the handler — the
 * same code and event shape Lambda runs behind API Gateway.
 *
 * Every invocation goes through the local Lambda runtime (local/lambda.ts) with the function's own
 * limits from the synthesized template, and the gateway adds API Gateway's own:
 *   - the integration timeout (29 s unless the template says otherwise): `504` with the
 *     INTEGRATION_TIMEOUT gateway response body (lib/gateway-responses.ts), as the deployed API;
 *   - a failed invocation (the function's timeout, a response over 6 MB, a thrown error) or a
 *     malformed proxy response: `502 {"message": "Internal server error"}`, API Gateway's own body;
 *   - an authorizer that fails (rather than refusing): `500 {"message": null}`;
 *   - request-body validation after the authorizer (local/body-validation.ts): `400` with the
 *     BAD_REQUEST_BODY gateway response body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listenOnLoopback } from './listen';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { routes as ROUTES, type Route } from '../lambdas/routes';
import { gatewayResponseBody } from '../lib/gateway-responses';
import { bodyRefusal } from './body-validation';
import { isConsolePath, serveConsole } from './console';
import { invokeLocal, LambdaFunctionError, type LocalFunction } from './lambda';

/** API Gateway's payload limit. */
const MAX_PAYLOAD = 10 * 1024 * 1024;

interface CompiledRoute {
  route: Route;
  regex: RegExp;
  params: string[];
}

export function compileRoutes(table: readonly Route[]): CompiledRoute[] {
  return table.map((route) => {
    const params: string[] = [];
    const pattern = route.path
      .split('/')
      .map((seg) => {
        const m = /^\{(\w+)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
        params.push(m[1]);
        return '([^/]+)';
      })
      .join('/');
    return { route, regex: new RegExp(`^${pattern}$`), params };
  });
}

/**
 * As API Gateway does: the resource is chosen first, a literal segment beating a `{param}` at the
 * same depth (`/v2/images/{image_id}` before `/{login}/images/{id}`), then the method on that
 * resource only (a method the resource lacks is refused, never passed to a less specific resource).
 */
export function matchRoute(compiled: CompiledRoute[], method: string, path: string) {
  let resource: string | undefined;
  for (const c of [...compiled].sort((a, b) => specificity(a.route.path, b.route.path))) {
    if (resource !== undefined && c.route.path !== resource) continue;
    const m = c.regex.exec(path);
    if (!m) continue;
    resource = c.route.path;
    if (c.route.method !== method) continue;
    return { route: c.route, pathParameters: Object.fromEntries(c.params.map((p, i) => [p, m[i + 1]])) };
  }
  return { pathMatched: resource !== undefined };
}

/** Orders path templates so that, segment by segment, a literal comes before a parameter. */
function specificity(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = sa[i].startsWith('{');
    const pb = sb[i].startsWith('{');
    if (pa !== pb) return pa ? 1 : -1;
  }
  return 0;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** How much of an oversized body is read and discarded after the 413, so the client reads the answer, not a reset. */
const MAX_DRAIN = 64 * 1024 * 1024;

/**
 * The body, or 'too-large' as soon as it passes the payload limit. The stream is never destroyed
 * (leaving a `for await` early would, resetting the connection): past the limit, the rest is drained
 * in the background (up to MAX_DRAIN) while the 413 goes out with `connection: close`.
 */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD) return void chunks.push(chunk);
      req.off('data', onData);
      let drained = 0;
      req.on('data', (c: Buffer) => {
        drained += c.length;
        if (drained > MAX_DRAIN) req.socket.destroy();
      });
      resolve('too-large');
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function queryParams(url: URL) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    Object.defineProperty(single, k, { value: v, enumerable: true, writable: true, configurable: true });
    // Own keys only: a parameter named `toString` or `__proto__` is data, not the prototype's.
    if (Object.hasOwn(multi, k)) multi[k].push(v);
    else Object.defineProperty(multi, k, { value: [v], enumerable: true, writable: true, configurable: true });
  }
  return { single: Object.keys(single).length ? single : null, multi: Object.keys(multi).length ? multi : null };
}

export interface LocalGateway {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A route's function and API Gateway's timeout for its integration (already scaled). */
export interface GatewayIntegration {
  fn: LocalFunction;
  integrationTimeoutMs: number;
  /** The body models the method validates against, by content type (lib/local-template.ts). */
  bodyModels?: Record<string, Record<string, unknown>>;
}

export interface GatewayOptions {
  port: number;
  host?: string;
  /** The function behind each route, by the route's `operation`. */
  integrations: Record<string, GatewayIntegration>;
  authorizer: LocalFunction;
  /** @default the route table (lambdas/routes.ts) */
  routes?: readonly Route[];
  /**
   * Requests that reach the gateway before this settles wait for it (`npm start` settles it once
   * seeded and its state file is written, so a first answered ping means every command works).
   */
  ready?: Promise<void>;
}

/** The bodies API Gateway itself answers with when an integration fails. */
const INTERNAL_SERVER_ERROR = { message: 'Internal server error' };

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  const r = value as APIGatewayProxyResult | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    Number.isInteger(r.statusCode) &&
    (r.body === undefined || r.body === null || typeof r.body === 'string')
  );
}

export async function startGateway(opts: GatewayOptions): Promise<LocalGateway> {
  const routes = opts.routes ?? ROUTES;
  for (const route of routes) {
    if (!opts.integrations[route.operation]) throw new Error(`no function for route ${route.operation}`);
  }
  const compiled = compileRoutes(routes);
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('gateway error', err);
      if (!res.headersSent) send(res, 502, gatewayResponseBody('DEFAULT_5XX', randomUUID(), 502));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // Until the stack is usable (seeded, state file written) a request waits rather than sees half a stack.
    if (opts.ready) await opts.ready;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = randomUUID();
    // The web console's static files, on the API's origin (CloudFront does the same when deployed).
    if (isConsolePath(url.pathname)) return serveConsole(req, res, url.pathname);
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const match = matchRoute(compiled, method === 'HEAD' ? 'GET' : method, path);
    if (!('route' in match) || !match.route) {
      // As the deployed API: a path or method it lacks is MISSING_AUTHENTICATION_TOKEN (lib/gateway-responses.ts).
      req.resume();
      return send(res, 404, gatewayResponseBody('MISSING_AUTHENTICATION_TOKEN', requestId), {
        'x-amzn-errortype': 'MissingAuthenticationTokenException',
      });
    }
    const { route, pathParameters } = match;
    const body = await readBody(req);
    if (body === 'too-large') return send(res, 413, gatewayResponseBody('DEFAULT_4XX', requestId, 413), { connection: 'close' });

    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const [k, v] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
      Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true });
      if (Object.hasOwn(multiValueHeaders, k)) multiValueHeaders[k].push(v);
      else Object.defineProperty(multiValueHeaders, k, { value: [v], enumerable: true, writable: true, configurable: true });
    }
    const query = queryParams(url);
    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';

    let authorizer: Record<string, unknown> | null = null;
    if (route.auth === 'caller') {
      const authEvent: APIGatewayRequestAuthorizerEvent = {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:us-east-1:000000000000:local/local/${route.method}${route.path}`,
        resource: route.path,
        path,
        httpMethod: route.method,
        headers,
        multiValueHeaders,
        pathParameters,
        queryStringParameters: query.single,
        multiValueQueryStringParameters: query.multi,
        stageVariables: null,
        // As API Gateway: `requestContext.path` is the path the client sent (signatures cover it), `path` the resource path.
        requestContext: {
          requestId,
          path: url.pathname,
          httpMethod: route.method,
          stage: 'local',
          resourcePath: route.path,
          identity: { sourceIp },
        } as never,
      };
      try {
        const result = (await invokeLocal(opts.authorizer, authEvent, { requestId })) as {
          principalId: string;
          policyDocument?: { Statement?: { Effect: string }[] };
          context?: Record<string, unknown>;
        };
        const allowed = result?.policyDocument?.Statement?.some((s: { Effect: string }) => s.Effect === 'Allow');
        if (!allowed)
          return send(res, 403, gatewayResponseBody('ACCESS_DENIED', requestId), { 'x-amzn-errortype': 'AccessDeniedException' });
        authorizer = { ...(result.context ?? {}), principalId: result.principalId };
      } catch (err) {
        if (err instanceof LambdaFunctionError && err.errorMessage === 'Unauthorized')
          return send(res, 401, gatewayResponseBody('UNAUTHORIZED', requestId), { 'x-amzn-errortype': 'UnauthorizedException' });
        console.error('authorizer error', err);
        return send(res, 500, { message: null });
      }
    }

    const event: APIGatewayProxyEvent = {
      resource: route.path,
      path,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: query.single,
      multiValueQueryStringParameters: query.multi,
      pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
      stageVariables: null,
      body: body.length ? body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        authorizer,
        httpMethod: method,
        identity: { sourceIp } as never,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        requestId,
        requestTimeEpoch: Date.now(),
        resourceId: route.operation,
        resourcePath: route.path,
        stage: 'local',
      },
    };
    const integration = opts.integrations[route.operation];
    const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    const refusal = bodyRefusal(integration.bodyModels, contentType, body);
    if (refusal !== undefined)
      return send(res, 400, gatewayResponseBody('BAD_REQUEST_BODY', requestId), { 'x-amzn-errortype': 'BadRequestException' });
    const invocation = invokeLocal(integration.fn, event, { requestId });
    invocation.catch(() => undefined); // after a 504, the late outcome is discarded
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), integration.integrationTimeoutMs)));
    let result: unknown;
    try {
      result = await Promise.race([invocation, timedOut]);
    } catch (err) {
      if (!(err instanceof LambdaFunctionError)) throw err;
      console.error(`${route.operation} failed: ${err.errorType}: ${err.errorMessage}`);
      return send(res, 502, INTERNAL_SERVER_ERROR, { 'x-amzn-errortype': 'InternalServerErrorException' });
    } finally {
      clearTimeout(timer);
    }
    if (result === 'timeout') {
      return send(res, 504, gatewayResponseBody('INTEGRATION_TIMEOUT', requestId), { 'x-amzn-errortype': 'IntegrationTimeoutException' });
    }
    if (!isProxyResult(result)) {
      console.error(`${route.operation} returned a malformed Lambda proxy response`);
      return send(res, 502, INTERNAL_SERVER_ERROR, { 'x-amzn-errortype': 'InternalServerErrorException' });
    }
    const outHeaders = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
    res.writeHead(result.statusCode, outHeaders);
    const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '', 'utf8');
    res.end(method === 'HEAD' ? undefined : payload);
  }

  // Requests the HTTP parser refuses (oversize URL or headers, bad framing) get the gateway's body too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const text = JSON.stringify(gatewayResponseBody('DEFAULT_4XX', randomUUID(), status));
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
  // Requests the HTTP parser refuses (oversize URL or headers, bad framing) get the gateway's body too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const text = JSON.stringify(gatewayResponseBody('DEFAULT_4XX', randomUUID(), status));
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
  const port = await listenOnLoopback(server, opts.port, opts.host);
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // clients keep connections alive; don't wait for their idle timeout
        server.closeIdleConnections();
      }),
  };
}
