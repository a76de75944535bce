/**
 * What every authentication scheme reads from a request, built the same way from an API Gateway
 * REQUEST authorizer event (REST API) and from a proxy event (the handler-side AK/SK body check):
 * the method, the raw path as the client addressed it, the decoded query values in the order API
 * Gateway hands them over, and lowercased headers. The body is not here: a REST API authorizer never
 * receives it (see aksk.ts for how signed bodies are checked).
 */
import type { ScryptParams } from '../core/credential';
import type { AccountRepository, Clock, CredentialRepository } from '../core/ports';
import type { AuthFailureReason } from './refusal';

export interface AuthRequest {
  method: string;
  /**
   * Candidate raw paths, most faithful first: `requestContext.path` (what the client sent, stage prefix
   * included on the execute-api domain), then `path` (the resource path without the stage).
   */
  paths: string[];
  /** Decoded query parameters with all their values, in API Gateway's order. */
  query: Array<[string, string[]]>;
  headers: Record<string, string>;
  /** The client's address as API Gateway saw it (`requestContext.identity.sourceIp`): password throttling is per source. */
  sourceIp?: string;
}

export interface AuthDeps {
  accounts: AccountRepository;
  credentials: CredentialRepository;
  clock: Clock;
  /**
   * Today's password-hash cost: what the decoy costs and what older hashes are upgraded to.
   * @default DEFAULT_SCRYPT (OWASP's); unit tests of the throttle policy lower it, as they lower nothing else
   */
  scrypt?: ScryptParams;
  /** Told why a scheme refuses a request (lambdas/auth/refusal.ts): for the log, never the answer. */
  onRefused?: (reason: AuthFailureReason) => void;
}

/** Largest accepted difference between a signed request's date and now (the replay window). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

interface EventLike {
  httpMethod?: string;
  path?: string;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  requestContext?: { path?: string; httpMethod?: string; identity?: { sourceIp?: string | null } | null } | null;
}

export function authRequestFrom(event: EventLike): AuthRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const query: Array<[string, string[]]> = [];
  if (event.multiValueQueryStringParameters) {
    for (const [k, vs] of Object.entries(event.multiValueQueryStringParameters)) if (Array.isArray(vs)) query.push([k, vs.map(String)]);
  } else {
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (typeof v === 'string') query.push([k, [v]]);
  }
  const paths = [event.requestContext?.path, event.path].filter(
    (p, i, all): p is string => typeof p === 'string' && p.startsWith('/') && all.indexOf(p) === i,
  );
  const sourceIp = event.requestContext?.identity?.sourceIp ?? undefined;
  return {
    method: (event.httpMethod ?? event.requestContext?.httpMethod ?? 'GET').toUpperCase(),
    paths,
    query,
    headers,
    ...(sourceIp ? { sourceIp } : {}),
  };
}

export function withinSkew(date: Date, now: Date): boolean {
  const t = date.getTime();
  return Number.isFinite(t) && Math.abs(now.getTime() - t) <= MAX_CLOCK_SKEW_MS;
}
