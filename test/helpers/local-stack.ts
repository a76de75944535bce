/**
 * What integration tests know about the running local stack: its URL, and its AWS endpoints in
 * process.env so fixtures can be made through the real admin operations and S3/DynamoDB inspected
 * with real SDK clients (never stubs).
 */
import { readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../local/s3';
import { basicAuthorization, passwordOf, type Login } from './credentials';

interface StackFile {
  url: string;
  env: Record<string, string>;
}

export function localStack(): StackFile {
  const file = process.env.LOCAL_STACK_FILE;
  if (!file) throw new Error('LOCAL_STACK_FILE is not set: run integration tests through jest (globalSetup starts the stack)');
  const state = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
  Object.assign(process.env, state.env);
  return state;
}

export const stack = localStack();
export const BASE = stack.url;

let s3client: S3Client | undefined;
/** A raw S3 client on the local stack, for inspecting what the service stored. */
export const s3 = (): S3Client => (s3client ??= localS3Client(stack.env.AWS_ENDPOINT_URL_S3));

export function closeLocalStackClients(): void {
  s3client?.destroy();
  s3client = undefined;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ApiInit extends RequestInit {
  /**
   * Who calls: a login made by `makeAccount` (it sends that login's API token, see tokenFor),
   * explicit Basic credentials `{login, password}` (HTTP Basic, for tests of passwords), or `null`
   * for an anonymous request. Default: the login the path names (`/{login}/…`, `/users/{uid}/…`)
   * when `makeAccount` made it, else anonymous. An `authorization` header given in `headers` always wins.
   */
  as?: string | Login | null;
  /** Same as `as: null`. */
  anonymous?: boolean;
}

/** The login a path names: Triton's `/{login}/…`, UForge's `/users/{uid}/…`. */
export function loginInPath(path: string): string | undefined {
  const segments = path
    .split('?')[0]
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  if (segments[0] === 'users' && segments[1]) return segments[1];
  return segments[0];
}

const TOKENS = Symbol.for('machine-image-service.test.tokens');
// Shared by the test files of a worker, as the password registry is (./credentials).
const sharedTokens = require('node:util') as Record<symbol, Map<string, Promise<string>> | undefined>;
sharedTokens[TOKENS] ??= new Map<string, Promise<string>>();
const tokens = sharedTokens[TOKENS];

/**
 * An API token for a login made by `makeAccount`, minted once per (login, password) through the real
 * admin operation: a password check costs scrypt at N=2^17 (hundreds of ms of CPU), so the suites
 * authenticate by token and leave HTTP Basic to the tests about passwords (`as: {login, password}`).
 * A changed password (rememberPassword) mints a new token, as the old one is revoked by the change.
 */
function tokenFor(login: string, password: string): Promise<string> {
  const key = `${login.toLowerCase()}\0${password}`;
  let token = tokens.get(key);
  if (!token) {
    token = import('../../local/admin-ops').then(
      async ({ adminOps }) => (await adminOps.createToken(login, { ttlSeconds: 12 * 3600 })).token,
    );
    token.catch(() => tokens.delete(key));
    tokens.set(key, token);
  }
  return token;
}

async function authorizationFor(path: string, init: ApiInit): Promise<string | undefined> {
  if (init.anonymous || init.as === null) return undefined;
  if (typeof init.as === 'object' && init.as) return basicAuthorization(init.as);
  const login = typeof init.as === 'string' ? init.as : loginInPath(path);
  const password = login ? passwordOf(login) : undefined;
  if (typeof init.as === 'string' && password === undefined)
    throw new Error(`api(): no password known for ${init.as} (make the account with makeAccount)`);
  return login && password !== undefined ? `Bearer ${await tokenFor(login, password)}` : undefined;
}

const hasHeader = (headers: RequestInit['headers'], name: string): boolean => new Headers(headers).has(name);

/**
 * One request to the local stack. Authentication is transparent: see `ApiInit.as`. Signed requests
 * (HTTP Signature, AK/SK) pass their headers in `init.headers` (see ./credentials).
 */
export async function api<T = any>(method: string, path: string, body?: unknown, init: ApiInit = {}): Promise<ApiResponse<T>> {
  const { as, anonymous, ...requestInit } = init;
  const authorization = hasHeader(requestInit.headers, 'authorization') ? undefined : await authorizationFor(path, { as, anonymous });
  const res = await fetch(`${BASE}${path}`, {
    method,
    redirect: 'manual',
    ...requestInit,
    headers: {
      ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
      ...(authorization ? { authorization } : {}),
      ...Object.fromEntries(new Headers(requestInit.headers ?? {}).entries()),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Polls `fn` until `done` holds (or the attempts run out, returning the last value). */
export async function poll<T>(fn: () => Promise<T>, done: (v: T) => boolean, { intervalMs = 200, attempts = 300 } = {}): Promise<T> {
  let last = await fn();
  for (let i = 0; i < attempts && !done(last); i++) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await fn();
  }
  return last;
}
