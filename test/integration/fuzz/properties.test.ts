/**
 * Property-based abuse of every route and dialect (fast-check): bad JSON, wrong types, huge, unicode
 * and control-character strings, path traversal in names, `manta_path`, `bucket_url` and `image_url`,
 * oversize bodies and headers, bad query parameters, forged or replayed signatures and tokens.
 * Properties: never a 5xx; an error is in its dialect's shape; no object is written outside the
 * caller's own areas of the images bucket.
 *
 * CI runs FUZZ_PROPERTY_RUNS (default 100) requests; `npm run fuzz` runs 10,000. The seed is
 * FUZZ_SEED (default 20261129) and is printed with any counterexample.
 */
import fc from 'fast-check';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { routes, type Route } from '../../../lambdas/routes';
import { api, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.FUZZ_PROPERTY_RUNS ?? 100);

jest.setTimeout(Math.max(120_000, RUNS * 200));

const nasty = fc.constantFrom(
  '',
  ' ',
  '../../etc/passwd',
  '..%2F..%2Fsecret',
  '/absolute/path',
  'bucket:../../other-account/x',
  'user-buckets/other/x',
  'b:',
  ':k',
  '\u0000\u0001\u001f',
  '\u202e\ufeff',
  '💥🧨',
  'a'.repeat(70_000),
  '%00',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, sent as literal text
  '${jndi:ldap://x}',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  '1e309',
  '-1',
  '00000000-0000-0000-0000-000000000000',
);
const str = fc.oneof(nasty, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }));
const leaf = fc.oneof(str, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const FIELDS = [
  'machine',
  'name',
  'version',
  'description',
  'acl',
  'tags',
  'compression',
  'action',
  'manta_path',
  'instance_id',
  'image_url',
  'min_disk',
  'bucket_url',
  'file_format',
  'data_images',
  'volume_id',
  'package',
  'image',
  'op',
  'path',
  'value',
  'public',
];
const objectBody = fc.dictionary(
  fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 20 })),
  fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 10 }), leaf, { maxKeys: 4 })),
  { maxKeys: 8 },
);
const body = fc.oneof(
  objectBody.map((o) => JSON.stringify(o)),
  fc.array(objectBody, { maxLength: 3 }).map((a) => JSON.stringify(a)),
  fc.constantFrom('{"name":', '<xml/>', 'null', '[]', '"', '{"a":1}{"b":2}', '\u0000'),
  fc.string({ maxLength: 500 }),
  fc.constant(`{"pad":"${'x'.repeat(70_000)}"}`),
);
const query = fc.dictionary(
  fc.oneof(fc.constantFrom('limit', 'marker', 'name', 'state', 'action', 'tag.k', '__imagetype', 'os', 'id'), fc.string({ maxLength: 10 })),
  str,
  { maxKeys: 4 },
);
type Auth = 'basic' | 'token' | 'forged-signature' | 'forged-aksk' | 'bad-token' | 'none';
const auth = fc.constantFrom<Auth>('basic', 'basic', 'token', 'forged-signature', 'forged-aksk', 'bad-token', 'none');
const bigHeader = fc.option(fc.constantFrom('x'.repeat(9000), '\u00ff\u00fe', 'a'.repeat(200)), { nil: undefined });

function isDialectError(route: Route, status: number, b: any): boolean {
  if (status < 400) return true;
  if (status === 410 && typeof b?.id === 'string') return true; // CloudAPI: a deleted machine answers 410 with itself
  if (b && typeof b === 'object' && typeof b.error_code === 'string' && typeof b.error_msg === 'string') return true; // gateway / IMS auth
  if (route.dialect === 'ims') return typeof b?.error?.code === 'string' && typeof b?.error?.message === 'string';
  if (route.dialect === 'uforge') {
    // uforgeError, in XML (UForge's default representation) or JSON, by the request's Accept
    if (typeof b === 'string') return /<(\w+:)?uforgeError[\s>]/.test(b) && /<statusCode>\d{3}<\/statusCode>/.test(b);
    return typeof b?.uforgeError?.statusCode === 'number';
  }
  return typeof b?.code === 'string' && typeof b?.message === 'string';
}

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

describe(`property-based abuse of every route (seed ${SEED}, ${RUNS} requests)`, () => {
  it('never a 5xx, errors in the dialect shape, nothing written outside the caller areas', async () => {
    const alice = await makeAccount('prop');
    const token = await makeToken(alice.login);
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const before = new Set(await allKeys());
    const fill = (route: Route, v: string) =>
      route.path.replace(/\{(\w+)\}/g, (_, p: string) =>
        p === 'login' ? alice.login : p === 'project_id' ? alice.id : p === 'id' && v === '' ? machine.id : encodeURIComponent(v) || 'x',
      );
    let count = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        body,
        query,
        str,
        auth,
        bigHeader,
        fc.boolean(),
        async (route, b, q, pathValue, how, header, withBody) => {
          count++;
          const path =
            fill(route, pathValue.slice(0, 200)) + (Object.keys(q).length ? `?${new URLSearchParams(q as Record<string, string>)}` : '');
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (header !== undefined) headers['x-fuzz'] = header.replace(/[^\x20-\x7e]/g, '?');
          if (how === 'token') headers['x-auth-token'] = token;
          if (how === 'bad-token') headers['x-auth-token'] = `${token.slice(0, -2)}zz`;
          if (how === 'forged-signature') {
            headers.authorization = `Signature keyId="/${alice.login}/keys/00:11:22",algorithm="rsa-sha256",headers="date",signature="Zm9yZ2Vk"`;
            headers.date = new Date(Date.now() - 3600_000).toUTCString(); // replayed: an hour old
          }
          if (how === 'forged-aksk') headers.authorization = 'SDK-HMAC-SHA256 Access=AKFORGED, SignedHeaders=host;x-sdk-date, Signature=00';
          const method = route.method;
          const res = await api(method, path, withBody && method !== 'GET' ? b : undefined, {
            headers,
            ...(how === 'basic'
              ? { as: alice.login }
              : how === 'none' || (!headers['x-auth-token'] && !headers.authorization)
                ? { anonymous: true }
                : {}),
          });
          if (res.status >= 500)
            throw new Error(`${method} ${path.slice(0, 200)} → ${res.status} ${String(JSON.stringify(res.body)).slice(0, 300)}`);
          if (!isDialectError(route, res.status, res.body))
            throw new Error(
              `${method} ${path.slice(0, 200)} → ${res.status} not in the ${route.dialect} shape: ${String(JSON.stringify(res.body)).slice(0, 300)}`,
            );
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const allowed = [`user-buckets/${alice.id}/`, `exports/${alice.id}/`, 'images/'];
    const written = (await allKeys()).filter((k) => !before.has(k));
    expect(written.filter((k) => !allowed.some((p) => k.startsWith(p)))).toEqual([]);
    expect(count).toBe(RUNS);
    console.log(`property fuzz: ${count} requests, seed ${SEED}`);
  });
});
