/**
 * AK/SK hardening: the signature is checked before anything about the path (a forged signature naming
 * someone else's login answers 401 without naming the AK's login); `host` must be signed; the
 * `UNSIGNED-PAYLOAD` declaration is refused when there is a body.
 */
import { createHash } from 'node:crypto';
import { api, BASE } from '../../helpers/local-stack';
import { makeAccount, makeAksk } from '../../helpers/fixtures';
import { huaweiSignedHeaders } from '../../helpers/credentials';
import { akskSignature, canonicalRequest, UNSIGNED_PAYLOAD } from '../../../lambdas/auth/aksk';

const sdkDate = () =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Signs with our own canonical form, choosing the signed headers and the payload hash freely. */
function sign(opts: {
  method: string;
  path: string;
  aksk: { ak: string; sk: string };
  signed: string[];
  payloadHash: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  const headers: Record<string, string> = { host: new URL(BASE).host, 'x-sdk-date': sdkDate(), ...opts.extra };
  const canonical = canonicalRequest({
    method: opts.method,
    path: opts.path,
    query: [],
    headers,
    signedHeaders: opts.signed,
    payloadHash: opts.payloadHash,
  })!;
  const signature = akskSignature(opts.aksk.sk, headers['x-sdk-date'], canonical);
  const { host: _h, ...rest } = headers;
  void _h;
  return {
    ...rest,
    authorization: `SDK-HMAC-SHA256 Access=${opts.aksk.ak}, SignedHeaders=${opts.signed.join(';')}, Signature=${signature}`,
  };
}

describe('AK/SK signing rules', () => {
  let attacker: Awaited<ReturnType<typeof makeAccount>>;
  let victim: Awaited<ReturnType<typeof makeAccount>>;
  let aksk: Awaited<ReturnType<typeof makeAksk>>;

  beforeAll(async () => {
    [attacker, victim] = await Promise.all([makeAccount('akatk'), makeAccount('akvic')]);
    aksk = await makeAksk(attacker.login);
  });

  it('checks a body signature before the path: a forged one naming another login is 401 and names nobody', async () => {
    const path = `/${victim.login}/images`;
    const headers = huaweiSignedHeaders({ baseUrl: BASE, method: 'POST', path, body: { name: 'signed' }, aksk });
    const res = await api('POST', path, { name: 'tampered' }, { headers });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(attacker.login);
    // the same signature over the body it signed reaches the path check (403: not the caller's login)
    const honest = await api(
      'POST',
      path,
      { name: 'signed' },
      { headers: huaweiSignedHeaders({ baseUrl: BASE, method: 'POST', path, body: { name: 'signed' }, aksk }) },
    );
    expect(honest.status).toBe(403);
  });

  it('requires host among the signed headers', async () => {
    const path = '/v2/cloudimages';
    const empty = createHash('sha256').update('').digest('hex');
    expect(
      (
        await api('GET', path, undefined, {
          headers: sign({ method: 'GET', path, aksk, signed: ['host', 'x-sdk-date'], payloadHash: empty }),
        })
      ).status,
    ).toBe(200);
    expect(
      (await api('GET', path, undefined, { headers: sign({ method: 'GET', path, aksk, signed: ['x-sdk-date'], payloadHash: empty }) }))
        .status,
    ).toBe(401);
  });

  it('refuses UNSIGNED-PAYLOAD when the request has a body, takes it without one', async () => {
    const signed = ['host', 'x-sdk-content-sha256', 'x-sdk-date'];
    const extra = { 'x-sdk-content-sha256': UNSIGNED_PAYLOAD };
    const get = await api('GET', '/v2/cloudimages', undefined, {
      headers: sign({ method: 'GET', path: '/v2/cloudimages', aksk, signed, payloadHash: UNSIGNED_PAYLOAD, extra }),
    });
    expect(get.status).toBe(200);
    const post = await api(
      'POST',
      '/v2/cloudimages/action',
      { name: 'any-body', instance_id: 'x' },
      { headers: sign({ method: 'POST', path: '/v2/cloudimages/action', aksk, signed, payloadHash: UNSIGNED_PAYLOAD, extra }) },
    );
    expect(post.status).toBe(401);
  });
});
