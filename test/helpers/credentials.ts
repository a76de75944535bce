/**
 * Test credentials: the login → password registry `api()` uses to authenticate transparently, and
 * signers for the other schemes, built on the real client libraries (sshpk for HTTP Signature as
 * the triton CLI's smartdc-auth signs, and Huawei's own AKSKSigner).
 *
 * The registry lives on a Node core module object, which jest shares between all the test files a
 * worker runs (it re-creates only user modules per file), so an account made in one file is known in
 * another; it is per process, never written anywhere.
 */
import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';

export interface Login {
  login: string;
  password: string;
}

const REGISTRY = Symbol.for('machine-image-service.test.passwords');
const shared = require('node:util') as Record<symbol, Map<string, string> | undefined>;
shared[REGISTRY] ??= new Map<string, string>();
const registry = shared[REGISTRY];

export function rememberPassword(login: string, password: string): void {
  registry.set(login.toLowerCase(), password);
}

export function passwordOf(login: string): string | undefined {
  return registry.get(login.toLowerCase());
}

export const basicAuthorization = ({ login, password }: Login): string => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

// --- HTTP Signature ---------------------------------------------------------------------------

export interface TestKeyPair {
  type: 'rsa' | 'ed25519' | 'ecdsa';
  privateKey: sshpk.PrivateKey;
  /** OpenSSH one-line public key, as `admin key add` takes it. */
  publicKey: string;
  /** MD5 fingerprint `aa:bb:…`, as the CLI puts in keyId. */
  fingerprint: string;
}

export function generateTestKeyPair(type: 'rsa' | 'ed25519' | 'ecdsa' = 'ed25519'): TestKeyPair {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ecdsa'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const key = sshpk.parsePrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'pem');
  return { type, privateKey: key, publicKey: key.toPublic().toString('ssh'), fingerprint: key.fingerprint('md5', 'ssh').toString('hex') };
}

const SIGNATURE_ALGORITHMS: Record<string, string> = { rsa: 'rsa-sha256', ed25519: 'ed25519-sha512', ecdsa: 'ecdsa-sha256' };

/**
 * The headers the triton CLI sends: `date` and `authorization: Signature keyId="/<login>/keys/<md5>",
 * algorithm=…,headers="(request-target) date",signature=…`. `pathAndQuery` is exactly what is requested.
 */
export function signatureHeaders(opts: {
  method: string;
  pathAndQuery: string;
  login: string;
  key: Pick<TestKeyPair, 'privateKey' | 'fingerprint'>;
  date?: Date;
  keyId?: string;
  algorithm?: string;
  headers?: string;
}): { date: string; authorization: string } {
  const date = (opts.date ?? new Date()).toUTCString();
  const signed = opts.headers ?? '(request-target) date';
  const lines = signed
    .split(' ')
    .map((h) =>
      h === '(request-target)'
        ? `(request-target): ${opts.method.toLowerCase()} ${opts.pathAndQuery}`
        : h === 'date'
          ? `date: ${date}`
          : `${h}: `,
    );
  const key = opts.key.privateKey;
  const hash = key.type === 'ed25519' ? 'sha512' : 'sha256';
  const signer = key.createSign(hash as sshpk.AlgorithmHashType);
  signer.update(lines.join('\n'));
  const signature = signer.sign().toString();
  const keyId = opts.keyId ?? `/${opts.login}/keys/${opts.key.fingerprint}`;
  const algorithm = opts.algorithm ?? SIGNATURE_ALGORITHMS[key.type];
  return { date, authorization: `Signature keyId="${keyId}",algorithm="${algorithm}",headers="${signed}",signature="${signature}"` };
}

// --- Huawei AK/SK --------------------------------------------------------------------------------

export interface Aksk {
  ak: string;
  sk: string;
  project_id: string;
}

/**
 * Signs a request with Huawei's own `AKSKSigner` (the SDK's signer, not ours). Returns the headers to
 * send: `X-Sdk-Date`, `host`, `Authorization: SDK-HMAC-SHA256 …` and the headers passed in.
 * `body` is what will be sent: objects are signed as `JSON.stringify(body)`, as the SDK sends them.
 */
export function huaweiSignedHeaders(opts: {
  baseUrl: string;
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: unknown;
  aksk: Aksk;
  date?: Date;
}): Record<string, string> {
  const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.date)
    headers['X-Sdk-Date'] = opts.date
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  const credentials = new BasicCredentials().withAk(opts.aksk.ak).withSk(opts.aksk.sk).withProjectId(opts.aksk.project_id);
  const signed = AKSKSigner.sign(
    {
      method: opts.method.toUpperCase(),
      endpoint: `${opts.baseUrl}${opts.path}`,
      headers,
      queryParams: opts.query ?? {},
      data: opts.body,
    } as never,
    credentials,
  ) as Record<string, string>;
  return signed;
}

/** `?a=1&b=2` for a query object (the order given), URL-encoded as the SDK's HTTP client sends it. */
export const queryString = (query: Record<string, string | string[]> = {}): string => {
  const parts = Object.entries(query).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
  );
  return parts.length ? `?${parts.join('&')}` : '';
};
