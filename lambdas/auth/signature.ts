/**
 * HTTP Signature, as the triton CLI sends it (smartdc-auth → http-signature; docs/clients.md §1):
 *   Authorization: Signature keyId="/<login>/keys/<md5 fp>",algorithm="rsa-sha256"|"ed25519-sha512"|"ecdsa-sha…",
 *                  headers="(request-target) date",signature="<base64>"
 * Parsing and verification are Joyent's own `http-signature` and `sshpk`; this module only finds the key
 * (one GetItem by login and fingerprint), insists that both the request target and the date are signed,
 * and refuses a date more than five minutes off (the replay window).
 *
 * The `(request-target)` is `<lowercase method> <path+query>` as the client wrote it. A REST API authorizer
 * gets the path and the *decoded* query parameters, not the raw URL, so the target is rebuilt: the raw path
 * (with the stage prefix, as `requestContext.path`, and without), and the query re-encoded the way the CLI's
 * restify client does (`querystring.stringify`, keys in the order sent) — or strict RFC 3986 and sorted keys
 * for other clients. Each candidate is a URL the request really addressed, so trying a few is safe.
 */
import { escape as qsEscape } from 'node:querystring';
import * as httpSignature from 'http-signature';
import sshpk from 'sshpk';
import { isActive, type Principal } from '../core/account';
import { MAX_CLOCK_SKEW_MS, withinSkew, type AuthDeps, type AuthRequest } from './request';
import { refuse } from './refusal';

const KEY_ID_RE = /^\/([^/]+)\/keys\/(?:md5:)?((?:[0-9a-f]{2}:){15}[0-9a-f]{2})$/i;
const MAX_TARGETS = 8;

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function queryStrings(query: AuthRequest['query']): string[] {
  if (!query.length) return [''];
  const build = (entries: AuthRequest['query'], esc: (s: string) => string) =>
    `?${entries.flatMap(([k, vs]) => vs.map((v) => `${esc(k)}=${esc(v)}`)).join('&')}`;
  const sorted = [...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [build(query, qsEscape), build(query, rfc3986), build(sorted, qsEscape), build(sorted, rfc3986)];
}

/** The `(request-target)` values the request may have been signed with, most likely first. */
export function requestTargets(req: AuthRequest): string[] {
  const method = req.method.toLowerCase();
  const out: string[] = [];
  for (const q of queryStrings(req.query)) for (const p of req.paths) out.push(`${method} ${p}${q}`);
  return [...new Set(out)].slice(0, MAX_TARGETS);
}

export const isSignatureAuth = (req: AuthRequest): boolean => /^signature\s/i.test(req.headers.authorization ?? '');

export async function authenticateSignature(req: AuthRequest, deps: AuthDeps): Promise<Principal | undefined> {
  const dateHeader = req.headers['x-date'] ?? req.headers.date;
  if (!dateHeader || !withinSkew(new Date(dateHeader), deps.clock.now())) return refuse(deps, 'clock_skew');

  const parsedByTarget: httpSignature.ParsedSignature[] = [];
  for (const target of requestTargets(req)) {
    const [method, ...rest] = target.split(' ');
    try {
      parsedByTarget.push(
        httpSignature.parseRequest(
          { method, url: rest.join(' '), headers: req.headers, httpVersion: '1.1' },
          { strict: true, headers: ['(request-target)', req.headers['x-date'] ? 'x-date' : 'date'], clockSkew: MAX_CLOCK_SKEW_MS / 1000 },
        ),
      );
    } catch {
      return refuse(deps, 'malformed'); // malformed header, unsupported algorithm, unsigned date or target
    }
  }
  const first = parsedByTarget[0];
  if (!first) return refuse(deps, 'malformed');
  const m = KEY_ID_RE.exec(first.keyId);
  if (!m) return refuse(deps, 'malformed'); // RBAC sub-user keyIds (/<login>/users/<user>/keys/…) are not supported
  const [, login, fingerprint] = m;

  const cred = await deps.credentials.getKey(login, fingerprint.toLowerCase());
  if (!cred) return refuse(deps, 'unknown_key');
  const account = await deps.accounts.get(cred.accountId);
  if (!account) return refuse(deps, 'unknown_account');
  if (account.login.toLowerCase() !== login.toLowerCase()) return refuse(deps, 'unknown_key');
  if (!isActive(account)) return refuse(deps, 'disabled_account');

  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(cred.publicKey, 'ssh');
  } catch {
    return refuse(deps, 'bad_key');
  }
  for (const parsed of parsedByTarget) {
    try {
      if (httpSignature.verifySignature(parsed, key)) return { accountId: account.id, login: account.login, roles: [] };
    } catch {
      return refuse(deps, 'malformed'); // a signature that is not even well-formed for the algorithm
    }
  }
  return refuse(deps, 'bad_signature');
}
