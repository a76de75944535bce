/**
 * Huawei AK/SK: our canonical request and signature against Huawei's own signer (AKSKSigner from
 * @huaweicloud/huaweicloud-sdk-core), and the authorizer/handler split for signed bodies.
 */
import { createHash } from 'node:crypto';
import { authenticate } from '../../../lambdas/auth/authorizer';
import { akskSignature, authenticateAksk, canonicalRequest, parseAkskAuthorization, verifyAkskBody } from '../../../lambdas/auth/aksk';
import { authRequestFrom } from '../../../lambdas/auth/request';
import { createAksk } from '../../../lambdas/core/use-cases/credentials';
import { authorizerEvent, authWorld } from '../../helpers/fake-credentials';
import { huaweiSignedHeaders, type Aksk } from '../../helpers/credentials';

const ALICE = { id: '11111111-1111-4111-8111-111111111111', login: 'alice', created_at: '2026-01-01T00:00:00Z' };
const BASE = 'http://127.0.0.1:8080';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function world() {
  const w = authWorld();
  await w.accounts.create(ALICE);
  const aksk: Aksk = await createAksk(w)('alice');
  return { w, aksk };
}

/** What API Gateway would hand the authorizer for a request signed with these headers. */
function event(method: string, path: string, headers: Record<string, string>, query?: Record<string, string[]>, body?: string) {
  const withLength = body ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers;
  return authorizerEvent({ method, path, headers: withLength, query });
}

describe('Huawei AK/SK canonical request', () => {
  it.each([
    ['GET', '/v2/cloudimages', { __imagetype: 'private', limit: '10', marker: 'a b/c' }, undefined],
    ['GET', '/v1/proj-1/jobs/job-1', {}, undefined],
    ['POST', '/v2/cloudimages/action', {}, { name: 'img', instance_id: 'i-1', description: 'é ü ✓' }],
    ['PATCH', '/v2/cloudimages/3b8e', { multi: ['b', 'a'] }, [{ op: 'replace', path: '/name', value: 'x' }]],
  ] as const)('matches the real signer for %s %s', async (method, path, query, body) => {
    const { aksk } = await world();
    const headers = huaweiSignedHeaders({ baseUrl: BASE, method, path, query: query as Record<string, string | string[]>, body, aksk });
    const auth = parseAkskAuthorization(headers.Authorization)!;
    expect(auth.ak).toBe(aksk.ak);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const canonical = canonicalRequest({
      method,
      path,
      query: Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? [...v] : [v as string]]),
      headers: lower,
      signedHeaders: auth.signedHeaders,
      payloadHash: body === undefined ? sha256('') : sha256(JSON.stringify(body)),
    })!;
    expect(canonical.split('\n')[1]).toBe(`${path}/`);
    expect(akskSignature(aksk.sk, lower['x-sdk-date'], canonical)).toBe(auth.signature);
  });
});

describe('Huawei AK/SK in the authorizer', () => {
  it('accepts a body-less request signed by the real signer, with the empty body hash for the handler', async () => {
    const { w, aksk } = await world();
    const headers = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path: '/v2/cloudimages', query: { limit: '5' }, aksk });
    const auth = await authenticate(authRequestFrom(event('GET', '/v2/cloudimages', headers, { limit: ['5'] })), w);
    expect(auth).toMatchObject({ scheme: 'aksk', principal: { accountId: ALICE.id }, extra: { bodySha256: sha256('') } });
  });

  it('admits a signed body provisionally, and the handler side verifies it against the real body', async () => {
    const { w, aksk } = await world();
    const body = { name: 'img', instance_id: 'i-1' };
    const text = JSON.stringify(body);
    const headers = huaweiSignedHeaders({ baseUrl: BASE, method: 'POST', path: '/v2/cloudimages/action', body, aksk });
    const ev = event('POST', '/v2/cloudimages/action', headers, undefined, text);
    const auth = await authenticate(authRequestFrom(ev), w);
    expect(auth).toMatchObject({ scheme: 'aksk', extra: { akskPending: 'true' } });
    const ctx = { accountId: auth!.principal.accountId, ...auth!.extra };
    expect(await verifyAkskBody(ctx, authRequestFrom(ev), Buffer.from(text), w)).toBe(true);
    // tampered body
    expect(await verifyAkskBody(ctx, authRequestFrom(ev), Buffer.from(JSON.stringify({ ...body, name: 'evil' })), w)).toBe(false);
    // another account's context
    expect(await verifyAkskBody({ ...ctx, accountId: 'someone-else' }, authRequestFrom(ev), Buffer.from(text), w)).toBe(false);
  });

  it('verifies a declared X-Sdk-Content-Sha256 in the authorizer and hands the hash to the handler', async () => {
    const { w, aksk } = await world();
    const text = JSON.stringify({ a: 1 });
    const headers = huaweiSignedHeaders({
      baseUrl: BASE,
      method: 'POST',
      path: '/v2/cloudimages/action',
      headers: { 'X-Sdk-Content-Sha256': sha256(text) },
      body: { a: 1 },
      aksk,
    });
    const ev = event('POST', '/v2/cloudimages/action', headers, undefined, text);
    const auth = await authenticate(authRequestFrom(ev), w);
    expect(auth?.extra).toEqual({ bodySha256: sha256(text) });
    expect(await verifyAkskBody({ accountId: ALICE.id, ...auth!.extra }, authRequestFrom(ev), Buffer.from('{"a":2}'), w)).toBe(false);
  });

  it('refuses a tampered signed header, query, path or method', async () => {
    const { w, aksk } = await world();
    const headers = huaweiSignedHeaders({
      baseUrl: BASE,
      method: 'GET',
      path: '/v2/cloudimages',
      query: { limit: '5' },
      headers: { 'X-Project-Id': 'p1' },
      aksk,
    });
    expect(
      await authenticate(authRequestFrom(event('GET', '/v2/cloudimages', { ...headers, 'X-Project-Id': 'p2' }, { limit: ['5'] })), w),
    ).toBeUndefined();
    expect(await authenticate(authRequestFrom(event('GET', '/v2/cloudimages', headers, { limit: ['6'] })), w)).toBeUndefined();
    expect(await authenticate(authRequestFrom(event('GET', '/v2/images', headers, { limit: ['5'] })), w)).toBeUndefined();
    expect(await authenticate(authRequestFrom(event('DELETE', '/v2/cloudimages', headers, { limit: ['5'] })), w)).toBeUndefined();
    const sig = headers.Authorization;
    const flipped = sig.replace(/Signature=(.)/, (_, c) => `Signature=${c === 'a' ? 'b' : 'a'}`);
    expect(
      await authenticate(authRequestFrom(event('GET', '/v2/cloudimages', { ...headers, Authorization: flipped }, { limit: ['5'] })), w),
    ).toBeUndefined();
  });

  it('refuses an unknown AK, a wrong SK, and an X-Sdk-Date more than 5 minutes off', async () => {
    const { w, aksk } = await world();
    const path = '/v2/cloudimages';
    const unknown = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path, aksk: { ...aksk, ak: 'AAAAAAAAAAAAAAAAAAAA' } });
    expect(await authenticate(authRequestFrom(event('GET', path, unknown)), w)).toBeUndefined();
    const wrongSk = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path, aksk: { ...aksk, sk: 'x'.repeat(40) } });
    expect(await authenticate(authRequestFrom(event('GET', path, wrongSk)), w)).toBeUndefined();
    const old = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path, aksk, date: new Date(Date.now() - 6 * 60_000) });
    expect(old['X-Sdk-Date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(await authenticate(authRequestFrom(event('GET', path, old)), w)).toBeUndefined();
    const recent = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path, aksk, date: new Date(Date.now() - 2 * 60_000) });
    expect(await authenticate(authRequestFrom(event('GET', path, recent)), w)).toBeDefined();
  });

  it.each([
    'SDK-HMAC-SHA256',
    'SDK-HMAC-SHA256 Access=AK',
    'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=zz',
    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=${'0'.repeat(64)}`, // x-sdk-date unsigned
  ])('refuses the malformed header %j', async (authorization) => {
    const { w } = await world();
    const r = authRequestFrom(event('GET', '/v2/cloudimages', { authorization, host: 'h', 'x-sdk-date': '20260101T000000Z' }));
    expect(await authenticateAksk(r, w)).toBeUndefined();
  });
});
