/**
 * Authentication over real HTTP on the local stack: every scheme a real client sends, on any route;
 * anonymous callers reach only the ping; a path naming another login is 403; bad credentials are
 * 401 with a JSON body, never a 5xx.
 */
import { api, BASE } from '../../helpers/local-stack';
import { makeAccount, makeAksk, makeExpiredToken, makeKey, makeToken } from '../../helpers/fixtures';
import { huaweiSignedHeaders, queryString, signatureHeaders } from '../../helpers/credentials';

describe('Authentication', () => {
  let alice: Awaited<ReturnType<typeof makeAccount>>;
  let bob: Awaited<ReturnType<typeof makeAccount>>;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([makeAccount('alice'), makeAccount('bob')]);
  });

  it('answers the ping anonymously, and 401 InvalidCredentials to anonymous callers everywhere else', async () => {
    expect((await api('GET', '/--ping', undefined, { as: null })).status).toBe(200);
    for (const path of [`/${alice.login}/images`, `/${alice.login}/machines`, '/my/images']) {
      const res = await api('GET', path, undefined, { as: null });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'InvalidCredentials', error_code: 'APIGW.0301' });
    }
  });

  it.each(['rsa', 'ed25519'] as const)('accepts HTTP Signature with a registered %s key, query string included', async (type) => {
    const key = await makeKey(alice.login, type);
    const pathAndQuery = `/${alice.login}/images?state=all&limit=5`;
    const headers = signatureHeaders({ method: 'GET', pathAndQuery, login: alice.login, key });
    const res = await api('GET', pathAndQuery, undefined, { headers });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body)).toBe(true);
  });

  it('refuses HTTP Signature with a tampered signature, a skewed date or an unknown key', async () => {
    const key = await makeKey(alice.login, 'ed25519');
    const path = `/${alice.login}/images`;
    const good = signatureHeaders({ method: 'GET', pathAndQuery: path, login: alice.login, key });
    const tampered = {
      ...good,
      authorization: good.authorization.replace(/signature="(.)/, (_, c) => `signature="${c === 'A' ? 'B' : 'A'}`),
    };
    const skewed = signatureHeaders({
      method: 'GET',
      pathAndQuery: path,
      login: alice.login,
      key,
      date: new Date(Date.now() - 10 * 60_000),
    });
    const unknown = signatureHeaders({
      method: 'GET',
      pathAndQuery: path,
      login: alice.login,
      key: { ...key, fingerprint: '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff' },
    });
    for (const headers of [tampered, skewed, unknown]) {
      const res = await api('GET', path, undefined, { headers });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('InvalidCredentials');
    }
  });

  it('accepts HTTP Basic, and refuses a wrong password with 401', async () => {
    expect((await api('GET', `/${alice.login}/images`, undefined, { as: alice })).status).toBe(200);
    const res = await api('GET', `/${alice.login}/images`, undefined, { as: { login: alice.login, password: 'not-the-password' } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('InvalidCredentials');
  });

  it('accepts a live X-Auth-Token and refuses an expired one', async () => {
    const live = await makeToken(alice.login);
    expect((await api('GET', `/${alice.login}/images`, undefined, { as: null, headers: { 'X-Auth-Token': live } })).status).toBe(200);
    const expired = await makeExpiredToken(alice.login);
    const res = await api('GET', `/${alice.login}/images`, undefined, { as: null, headers: { 'X-Auth-Token': expired } });
    expect(res.status).toBe(401);
  });

  it('accepts Huawei AK/SK signed by the real signer, with and without a body, and refuses a tampered body', async () => {
    const aksk = await makeAksk(alice.login);
    expect(aksk.project_id).toBe(alice.id);
    const path = `/${alice.login}/images`;
    const query = { limit: '5', state: 'all' };
    const get = huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path, query, aksk });
    expect((await api('GET', `${path}${queryString(query)}`, undefined, { headers: get })).status).toBe(200);

    // A signed body: admitted by the authorizer, verified by the handler against the real body.
    const body = { machine: '00000000-0000-4000-8000-000000000000', name: 'x', version: '1' };
    const post = huaweiSignedHeaders({ baseUrl: BASE, method: 'POST', path, body, aksk });
    const accepted = await api('POST', path, body, { headers: post });
    expect(accepted.status).not.toBe(401);
    expect(accepted.status).toBeLessThan(500); // authenticated: the machine is simply unknown
    const tampered = await api('POST', path, { ...body, name: 'evil' }, { headers: post });
    expect(tampered.status).toBe(401);
    expect(tampered.body.code).toBe('InvalidCredentials');
  });

  it('answers 403 NotAuthorized when the path names another login than the caller', async () => {
    const res = await api('GET', `/${bob.login}/images`, undefined, { as: alice.login });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('NotAuthorized');
    expect((await api('GET', '/my/images', undefined, { as: alice.login })).status).toBe(200);
  });

  it('never answers 5xx to bad credentials', async () => {
    const garbage = [
      'Signature',
      'Signature keyId="/x/keys/zz",algorithm="rsa-sha256",headers="(request-target) date",signature="!!"',
      `Signature keyId="/${alice.login}/keys/00:11",algorithm="ed25519-sha512",signature="AAAA"`,
      'Basic',
      'Basic ====',
      `Basic ${Buffer.from('\u0000:\u0000').toString('base64')}`,
      `Basic ${Buffer.from(`${alice.login}:${'x'.repeat(5000)}`).toString('base64')}`,
      'SDK-HMAC-SHA256 Access=, SignedHeaders=, Signature=',
      'Bearer',
      'Bearer \u00ff',
      'Negotiate abc',
      'x'.repeat(8000),
    ];
    for (const authorization of garbage) {
      const res = await api('GET', `/${alice.login}/images`, undefined, { headers: { authorization, date: 'not a date' } });
      expect([authorization.slice(0, 40), res.status]).toEqual([authorization.slice(0, 40), 401]);
    }
    const tokenRes = await api('GET', `/${alice.login}/images`, undefined, { as: null, headers: { 'X-Auth-Token': 'x'.repeat(5000) } });
    expect(tokenRes.status).toBe(401);
  });
});
