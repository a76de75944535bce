/**
 * Huawei Cloud AK/SK signing (the SDKs' `AKSKSigner`; docs/clients.md §4):
 *   Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;…>, Signature=<hex>   with  X-Sdk-Date: YYYYMMDDTHHmmssZ
 *   canonical request = METHOD \n canonical URI (each path segment escaped, trailing "/") \n sorted query
 *                       \n "name:value\n" per signed header \n signed header names \n sha256hex(body)
 *   string to sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n sha256hex(canonical request)
 *   signature         = hex HMAC-SHA256(SK, string to sign)
 * We recompute it with the stored SK and compare in constant time.
 *
 * The body: a REST API authorizer never sees it. The authorizer verifies the signature with the payload
 * hash the client declared (`X-Sdk-Content-Sha256`) or with the empty body's hash, and hands the handler
 * that hash to check against the real body (`bodySha256` in the context). When neither verifies and the
 * request carries a body, the authorizer admits it only provisionally (`akskPending`): the shared
 * middleware then recomputes the whole signature over the real body before anything runs
 * (`verifyAkskBody`), so an unverified signature never reaches a use case. `host` must be among the
 * signed headers, and `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is taken only for a request with no body.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isActive, type Principal } from '../core/account';
import { withinSkew, type AuthDeps, type AuthRequest } from './request';
import { refuse } from './refusal';

export const AKSK_ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex');
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface AkskAuthorization {
  ak: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAkskAuthorization(header: string | undefined): AkskAuthorization | undefined {
  const m = /^SDK-HMAC-SHA256\s+Access=([A-Za-z0-9]{1,128}),\s*SignedHeaders=([a-z0-9;_.-]{1,2048}),\s*Signature=([0-9a-f]{64})\s*$/i.exec(
    header ?? '',
  );
  if (!m) return undefined;
  return { ak: m[1], signedHeaders: m[2].toLowerCase().split(';').filter(Boolean), signature: m[3].toLowerCase() };
}

export const isAkskAuth = (req: AuthRequest): boolean => /^sdk-hmac-sha256\s/i.test(req.headers.authorization ?? '');

/** Percent-encodes everything but RFC 3986's unreserved characters, upper-case hex, UTF-8. */
export const huaweiEscape = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function canonicalUri(rawPath: string): string {
  const uri = rawPath.split('/').map(huaweiEscape).join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

export function canonicalQuery(query: AuthRequest['query']): string {
  const byKey = new Map<string, string[]>();
  for (const [k, vs] of query) byKey.set(k, [...(byKey.get(k) ?? []), ...vs]);
  const out: string[] = [];
  for (const k of [...byKey.keys()].sort()) for (const v of [...byKey.get(k)!].sort()) out.push(`${huaweiEscape(k)}=${huaweiEscape(v)}`);
  return out.join('&');
}

export interface CanonicalParts {
  method: string;
  path: string;
  query: AuthRequest['query'];
  headers: Record<string, string>;
  signedHeaders: string[];
  payloadHash: string;
}

/** The canonical request; undefined when a signed header is absent from the request. */
export function canonicalRequest(p: CanonicalParts): string | undefined {
  let headers = '';
  for (const name of p.signedHeaders) {
    const value = p.headers[name];
    if (value === undefined) return undefined;
    headers += `${name}:${value}\n`;
  }
  return [p.method.toUpperCase(), canonicalUri(p.path), canonicalQuery(p.query), headers, p.signedHeaders.join(';'), p.payloadHash].join(
    '\n',
  );
}

export const stringToSign = (sdkDate: string, canonical: string): string =>
  [AKSK_ALGORITHM, sdkDate, createHash('sha256').update(canonical).digest('hex')].join('\n');

export const akskSignature = (sk: string, sdkDate: string, canonical: string): string =>
  createHmac('sha256', sk).update(stringToSign(sdkDate, canonical)).digest('hex');

/** `20261123T095741Z` → Date (invalid Date when malformed). */
export function parseSdkDate(s: string | undefined): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(NaN);
}

const mayHaveBody = (req: AuthRequest): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export type AkskResult =
  /** Verified; the handler must see a body whose sha256 is `bodySha256` (absent for UNSIGNED-PAYLOAD). */
  | { principal: Principal; verified: true; bodySha256?: string }
  /** The signature covers a body the authorizer cannot see: the handler must verify it (verifyAkskBody). */
  | { principal: Principal; verified: false };

/**
 * Checks an AK/SK-signed request. `bodySha256` is the real body's hash when the caller has the body
 * (the handler side); without it the declared or the empty hash is tried.
 */
export async function authenticateAksk(
  req: AuthRequest,
  deps: AuthDeps,
  opts: { bodySha256?: string } = {},
): Promise<AkskResult | undefined> {
  const auth = parseAkskAuthorization(req.headers.authorization);
  // The date and the host must be signed: an unsigned host lets a signature be replayed at another endpoint.
  if (!auth) return refuse(deps, 'malformed');
  if (!auth.signedHeaders.includes('x-sdk-date') || !auth.signedHeaders.includes('host')) return refuse(deps, 'unsigned_header');
  const sdkDate = req.headers['x-sdk-date'];
  if (!sdkDate || !withinSkew(parseSdkDate(sdkDate), deps.clock.now())) return refuse(deps, 'clock_skew');
  const declared = req.headers['x-sdk-content-sha256'];
  if (declared !== undefined && !auth.signedHeaders.includes('x-sdk-content-sha256')) return refuse(deps, 'unsigned_header');
  // UNSIGNED-PAYLOAD would let any body ride on the signature: only for requests without one.
  if (declared === UNSIGNED_PAYLOAD && (mayHaveBody(req) || (opts.bodySha256 !== undefined && opts.bodySha256 !== EMPTY_BODY_SHA256)))
    return refuse(deps, 'unsigned_payload');

  const cred = await deps.credentials.getAksk(auth.ak);
  if (!cred) return refuse(deps, 'unknown_access_key');
  const account = await deps.accounts.get(cred.accountId);
  if (!account) return refuse(deps, 'unknown_account');
  if (!isActive(account)) return refuse(deps, 'disabled_account');
  const principal: Principal = { accountId: account.id, login: account.login, roles: [] };

  let payloadHash: string;
  if (declared !== undefined) {
    payloadHash = declared;
    if (opts.bodySha256 !== undefined && declared !== UNSIGNED_PAYLOAD && declared.toLowerCase() !== opts.bodySha256)
      return refuse(deps, 'body_mismatch');
  } else {
    payloadHash = opts.bodySha256 ?? EMPTY_BODY_SHA256;
  }
  const expected = Buffer.from(auth.signature, 'hex');
  for (const path of req.paths) {
    const canonical = canonicalRequest({
      method: req.method,
      path,
      query: req.query,
      headers: req.headers,
      signedHeaders: auth.signedHeaders,
      payloadHash,
    });
    if (canonical === undefined) return refuse(deps, 'malformed');
    const actual = Buffer.from(akskSignature(cred.sk, sdkDate, canonical), 'hex');
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) {
      return { principal, verified: true, ...(payloadHash !== UNSIGNED_PAYLOAD ? { bodySha256: payloadHash.toLowerCase() } : {}) };
    }
  }
  if (opts.bodySha256 === undefined && declared === undefined && mayHaveBody(req)) return { principal, verified: false };
  return refuse(deps, 'bad_signature');
}

/**
 * The handler-side half (called by the shared middleware): checks the body against what the authorizer
 * verified, or verifies a provisionally admitted AK/SK signature over the real body. True when fine.
 */
export async function verifyAkskBody(
  context: { accountId?: unknown; bodySha256?: unknown; akskPending?: unknown; akskUnsignedPayload?: unknown },
  req: AuthRequest,
  body: Buffer,
  deps: AuthDeps,
): Promise<boolean> {
  const sha = createHash('sha256').update(body).digest('hex');
  if (typeof context.bodySha256 === 'string' && context.bodySha256 !== sha) return false;
  if (context.akskUnsignedPayload === 'true' && body.length > 0) return false;
  if (context.akskPending === 'true') {
    const result = await authenticateAksk(req, deps, { bodySha256: sha });
    return !!result && result.verified && result.principal.accountId === context.accountId;
  }
  return true;
}
