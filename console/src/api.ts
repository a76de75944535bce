/**
 * The console's only way to the service: its public HTTP routes, on the same origin. The session is a
 * short-lived token from POST /{login}/tokens (exchanged for the login and password once), kept in
 * sessionStorage — gone with the tab, never in localStorage — and sent as X-Auth-Token.
 */

export interface Session {
  login: string;
  accountId: string;
  token: string;
  expiresAt: string;
}

export interface ImageFile {
  compression: string;
  sha1: string;
  sha256: string;
  size: number;
  format?: string;
}

export interface Image {
  id: string;
  name: string;
  version: string;
  os: string;
  type: string;
  owner: string;
  public: boolean;
  state: string;
  description?: string;
  homepage?: string;
  eula?: string;
  acl?: string[];
  tags?: Record<string, string | number | boolean>;
  published_at?: string;
  files: ImageFile[];
  origin?: string;
  requirements?: Record<string, unknown>;
  error?: { code?: string; message?: string };
  [field: string]: unknown;
}

export interface Job {
  id: string;
  type: string;
  status: 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL' | 'CANCELLED';
  progress: number;
  phase?: string;
  eta?: number | string | null;
  entities: { image_id: string; image_name?: string; machine_id?: string };
  created_at: string;
  begin_time: string | null;
  end_time: string | null;
  error_code: string | null;
  fail_reason: string | null;
}

export interface Machine {
  id: string;
  name: string;
  type: string;
  brand: string;
  state: string;
  image?: string;
  os: string;
  disk: number;
  package?: string;
  memory?: number;
  created: string;
  updated: string;
}

export interface Package {
  id: string;
  name: string;
  memory: number;
  disk: number;
  vcpus: number;
  default?: boolean;
}

/** A refusal from the API, with its own code and message (Triton's `{code, message}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STORAGE_KEY = 'machine-image-service.session';

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const s = raw ? (JSON.parse(raw) as Session) : null;
    return s && Date.parse(s.expiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

let session: Session | null = loadSession();
const listeners = new Set<(s: Session | null, reason?: string) => void>();

export const currentSession = (): Session | null => session;

export function onSessionChange(fn: (s: Session | null, reason?: string) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(s: Session | null, reason?: string): void {
  session = s;
  if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const fn of listeners) fn(s, reason);
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON
  }
  const nested = (body.error ?? {}) as Record<string, unknown>;
  const code = String(body.code ?? nested.code ?? res.status);
  const message = String(body.message ?? nested.message ?? (text || res.statusText || `HTTP ${res.status}`));
  return new ApiError(res.status, code, message);
}

export interface ApiResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** One call to the API as the signed-in account; a 401 ends the session. */
export async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const s = session;
  if (!s) throw new ApiError(401, 'NotSignedIn', 'Sign in first.');
  const res = await fetch(path, {
    method,
    headers: {
      accept: 'application/json',
      'x-auth-token': s.token,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    cache: 'no-store',
  });
  if (res.status === 401) {
    const err = await errorFrom(res);
    setSession(null, 'Your session has ended. Sign in again.');
    throw err;
  }
  if (!res.ok) throw await errorFrom(res);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** `/{login}` followed by the given segments, each encoded. */
export const path = (...segments: string[]): string =>
  `/${[session?.login ?? 'my', ...segments].map((s) => encodeURIComponent(s)).join('/')}`;

const basic = (login: string, password: string): string => {
  const bytes = new TextEncoder().encode(`${login}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
};

/** Exchanges login and password for a token (the password is not kept). */
export async function signIn(login: string, password: string): Promise<Session> {
  const res = await fetch(`/${encodeURIComponent(login)}/tokens`, {
    method: 'POST',
    headers: { accept: 'application/json', authorization: basic(login, password) },
    cache: 'no-store',
  });
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401) {
      throw new ApiError(
        401,
        err.code,
        'Wrong login or password. After 10 wrong passwords in a row the password is locked for 5 minutes, and even the right one is refused until then.',
      );
    }
    throw err;
  }
  const out = (await res.json()) as { token: string; login: string; expires_at: string };
  const account = await fetch(`/${encodeURIComponent(out.login)}`, {
    headers: { accept: 'application/json', 'x-auth-token': out.token },
    cache: 'no-store',
  });
  if (!account.ok) throw await errorFrom(account);
  const { id } = (await account.json()) as { id: string };
  const s: Session = { login: out.login, accountId: id, token: out.token, expiresAt: out.expires_at };
  setSession(s);
  return s;
}

/** Revokes the token, then forgets it (forgotten even if the API cannot be reached). */
export async function signOut(): Promise<void> {
  try {
    if (session) await call('DELETE', path('tokens', 'current'));
  } catch {
    // the token is dropped below either way
  } finally {
    setSession(null, 'Signed out.');
  }
}

export const formatBytes = (n: number): string => {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
};

export const formatDate = (iso?: string | null): string => (iso ? new Date(iso).toLocaleString() : '—');
