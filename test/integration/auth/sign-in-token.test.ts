/**
 * Sign-in tokens over real HTTP (the web console's session): HTTP Basic is exchanged for a short-lived
 * token at POST /{login}/tokens; the token authenticates like any API token; it cannot mint another;
 * DELETE /{login}/tokens/current revokes exactly the token it carries.
 */
import { api } from '../../helpers/local-stack';
import { makeAccount, makeToken } from '../../helpers/fixtures';

describe('Sign-in tokens', () => {
  let alice: Awaited<ReturnType<typeof makeAccount>>;
  let bob: Awaited<ReturnType<typeof makeAccount>>;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([makeAccount('alice'), makeAccount('bob')]);
  });

  const asToken = (token: string) => ({ as: null, headers: { 'x-auth-token': token } });

  it('exchanges a login and password for a one-hour token that authenticates, then revokes it on sign-out', async () => {
    const before = Date.now();
    const res = await api('POST', `/${alice.login}/tokens`, undefined, { as: alice });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ login: alice.login, expires_in: 3600 });
    expect(res.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(res.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 5_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 5_000);

    const token: string = res.body.token;
    expect((await api('GET', `/${alice.login}/images`, undefined, asToken(token))).status).toBe(200);
    expect(
      (await api('GET', `/${alice.login}/images`, undefined, { as: null, headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);

    expect((await api('DELETE', `/${alice.login}/tokens/current`, undefined, asToken(token))).status).toBe(204);
    const after = await api('GET', `/${alice.login}/images`, undefined, asToken(token));
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('InvalidCredentials');
  });

  it('revokes only the token the request carries', async () => {
    const [one, two] = await Promise.all([
      api('POST', `/${alice.login}/tokens`, undefined, { as: alice }),
      api('POST', `/${alice.login}/tokens`, undefined, { as: alice }),
    ]);
    expect((await api('DELETE', `/${alice.login}/tokens/current`, undefined, asToken(one.body.token))).status).toBe(204);
    expect((await api('GET', `/${alice.login}/images`, undefined, asToken(two.body.token))).status).toBe(200);
  });

  it('refuses a wrong password with 401, and a token or another login trying to mint one with 403', async () => {
    const wrong = await api('POST', `/${alice.login}/tokens`, undefined, { as: { login: alice.login, password: 'not-the-password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('InvalidCredentials');

    const token = await makeToken(alice.login);
    const byToken = await api('POST', `/${alice.login}/tokens`, undefined, asToken(token));
    expect(byToken.status).toBe(403);
    expect(byToken.body.code).toBe('NotAuthorized');

    const forBob = await api('POST', `/${bob.login}/tokens`, undefined, { as: alice });
    expect(forBob.status).toBe(403);
    expect(forBob.body.code).toBe('NotAuthorized');
  });

  it('answers sign-out without a token with 409 InvalidArgument, and leaves other tokens alone', async () => {
    const token = await makeToken(alice.login);
    const res = await api('DELETE', `/${alice.login}/tokens/current`, undefined, { as: alice }); // HTTP Basic: no token to revoke
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('InvalidArgument');
    expect((await api('GET', `/${alice.login}/images`, undefined, asToken(token))).status).toBe(200);
  });
});
