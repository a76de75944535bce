/**
 * Tenant isolation as a matrix: every route of the route table (so routes added later are covered
 * without touching this file) × principals {owner, other account, other account through `/my`,
 * anonymous, bad signature, expired token, wrong password}. It asserts the status class each must get
 * and that no body answered to anyone but the owner carries the owner's private data (the names and
 * ids of its image, job and machine that the request itself did not carry).
 */
import { randomBytes } from 'node:crypto';
import { routes, type Route } from '../../lambdas/routes';
import { api, poll, type ApiInit } from '../helpers/local-stack';
import { makeAccount, makeExpiredToken, makeKey, makeMachine } from '../helpers/fixtures';
import { passwordOf, signatureHeaders } from '../helpers/credentials';

interface Owner {
  login: string;
  accountId: string;
  imageId: string;
  imageName: string;
  jobId: string;
  machineId: string;
  machineName: string;
  /** UForge: an appliance on the machine, and a machine image generated from it. */
  applianceId: string;
  applianceName: string;
  uforgeImageId: string;
}

/** Fills a route's path template with the owner's identifiers (by parameter name). */
function fillPath(route: Route, owner: Owner, loginValue: string): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const n = name.toLowerCase();
    if (n === 'login' || n === 'uid' || n === 'user') return loginValue;
    if (n.includes('project') || n.includes('account')) return owner.accountId;
    if (n.includes('job')) return owner.jobId;
    if (n.includes('machine') || n.includes('server') || n.includes('instance')) return owner.machineId;
    if (n === 'aid') return owner.applianceId;
    if (n === 'itid') return owner.uforgeImageId;
    return owner.imageId; // id, image_id, …
  });
}

const namesCaller = (route: Route) => /\{(login|uid|project_id)\}/.test(route.path);
/** Routes where `my` may stand for the caller's login. */
const takesMy = (route: Route) => /\{(login|uid)\}/.test(route.path);
const hasBody = (route: Route) => ['POST', 'PUT', 'PATCH'].includes(route.method);
const ok = (status: number) => status >= 200 && status < 300;

type Principal = 'owner' | 'other' | 'other via /my' | 'acl member' | 'anonymous' | 'bad signature' | 'expired token' | 'wrong password';

describe('Isolation matrix (route × principal)', () => {
  let owner: Owner;
  let other: Awaited<ReturnType<typeof makeAccount>>;
  let member: Awaited<ReturnType<typeof makeAccount>>;
  const init: Record<Exclude<Principal, 'owner' | 'bad signature'>, () => ApiInit> = {} as never;
  let ownerKey: Awaited<ReturnType<typeof makeKey>>;

  beforeAll(async () => {
    const account = await makeAccount('owner');
    other = await makeAccount('other');
    member = await makeAccount('member'); // on the owner's image acl
    const lockable = await makeAccount('wrongpw'); // wrong passwords lock an account: not the owner's
    ownerKey = await makeKey(account.login);
    const { machine } = await makeMachine(account.login, { size: 256 * 1024 });
    const imageName = `private-${randomBytes(6).toString('hex')}`;
    const created = await api('POST', `/${account.login}/images`, { machine: machine.id, name: imageName, version: '1.0.0' });
    expect(created.status).toBe(201);
    await poll(
      () => api('GET', `/${account.login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 200, attempts: 150 },
    );
    const mine = await api('GET', `/${account.login}/images/${created.body.id}`);
    expect(mine.body).toMatchObject({ name: imageName, state: 'active' });
    const applianceName = `appl-${randomBytes(6).toString('hex')}`;
    const appliance = await api(
      'POST',
      `/users/${account.login}/appliances`,
      { name: applianceName, version: '1.0', machineId: machine.id, osProfile: { name: 'CentOS', version: '7', arch: 'x86_64' } },
      { headers: { accept: 'application/json' } },
    );
    expect(appliance.status).toBe(201);
    const applianceId = String(appliance.body.uri).split('/').pop()!;
    const generated = await api(
      'POST',
      `/users/${account.login}/appliances/${applianceId}/images`,
      { compress: true, targetFormat: { name: 'Raw' } },
      { headers: { accept: 'application/json' } },
    );
    expect(generated.status).toBe(201);
    const uforgeImageId = String(generated.body.uri).split('/').pop()!;
    const statusPath = `/users/${account.login}/appliances/${applianceId}/images/${uforgeImageId}/status`;
    const done = await poll(
      () => api('GET', statusPath, undefined, { headers: { accept: 'application/json' } }),
      (r) => r.body?.complete === true || r.body?.error === true,
      { intervalMs: 200, attempts: 150 },
    );
    expect(done.body.complete).toBe(true);
    owner = {
      login: account.login,
      accountId: account.id,
      imageId: created.body.id,
      imageName,
      jobId: created.headers.get('x-joyent-jobid')!,
      machineId: machine.id,
      machineName: machine.name,
      applianceId,
      applianceName,
      uforgeImageId,
    };
    const shared = await api('POST', `/${account.login}/images/${created.body.id}?action=update`, { acl: [member.id] });
    expect(shared.status).toBe(200);
    const expired = await makeExpiredToken(account.login);
    Object.assign(init, {
      other: () => ({ as: other.login }),
      'other via /my': () => ({ as: other.login }),
      'acl member': () => ({ as: member.login }),
      anonymous: () => ({ as: null }),
      'expired token': () => ({ as: null, headers: { 'X-Auth-Token': expired } }),
      'wrong password': () => ({ as: { login: lockable.login, password: 'definitely-wrong' } }),
    });
  }, 60_000);

  function requestFor(route: Route, principal: Principal): { path: string; init: ApiInit } {
    const req = requestByPrincipal(route, principal);
    // The token routes (mint, sign out) would act on the API token api() authenticates with by default
    // — sign-out revokes it — so a named principal calls them with its password (HTTP Basic) instead.
    const as = req.init.as;
    if (route.path.includes('/tokens') && typeof as === 'string')
      return { ...req, init: { ...req.init, as: { login: as, password: passwordOf(as)! } } };
    return req;
  }

  function requestByPrincipal(route: Route, principal: Principal): { path: string; init: ApiInit } {
    const path = fillPath(route, owner, principal === 'other via /my' || principal === 'acl member' ? 'my' : owner.login);
    if (principal === 'owner') return { path, init: { as: owner.login } };
    if (principal === 'bad signature') {
      const h = signatureHeaders({ method: route.method, pathAndQuery: path, login: owner.login, key: ownerKey });
      return { path, init: { headers: { ...h, authorization: h.authorization.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA') } } };
    }
    return { path, init: init[principal]() };
  }

  /** Owner data the body must not carry, minus what the request itself names. */
  const secretsFor = (path: string) =>
    [
      owner.imageName,
      owner.imageId,
      owner.jobId,
      owner.machineId,
      owner.machineName,
      owner.applianceId,
      owner.applianceName,
      owner.uforgeImageId,
    ].filter((s) => !path.includes(s));
  /** An acl member may see the shared image, never the owner's job or machine. */
  const memberSecretsFor = (path: string) =>
    [owner.jobId, owner.machineId, owner.machineName, owner.applianceId, owner.applianceName, owner.uforgeImageId].filter(
      (s) => !path.includes(s),
    );

  const NON_OWNERS: Principal[] = ['anonymous', 'bad signature', 'expired token', 'wrong password', 'other', 'other via /my', 'acl member'];
  const cases = [
    // every non-owner first, so the owner's own (possibly destructive) calls come last
    ...NON_OWNERS.flatMap((p) => routes.map((r) => [p, r] as const)),
    ...routes.map((r) => ['owner' as Principal, r] as const),
  ]
    .filter(([p, r]) => !(p === 'other via /my' && !takesMy(r)))
    .filter(([p, r]) => !(p === 'acl member' && !takesMy(r) && namesCaller(r)));

  it.each(cases.map(([p, r]) => [p, `${r.method} ${r.path}`, r] as const))('%s → %s', async (principal, _name, route) => {
    const { path, init: reqInit } = requestFor(route, principal);
    const res = await api(route.method, path, hasBody(route) ? {} : undefined, reqInit);
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '');

    expect(res.status).toBeLessThan(500);
    // UForge's download route authenticates in its handler (a one-use downloadId needs no credentials):
    // it gets the same matrix as the routes behind the authorizer.
    if (route.auth === 'none' && route.dialect === 'service') {
      expect(ok(res.status)).toBe(true);
      return;
    }
    switch (principal) {
      case 'anonymous':
      case 'bad signature':
      case 'expired token':
      case 'wrong password':
        expect(res.status).toBe(401);
        break;
      case 'other':
        if (namesCaller(route)) {
          expect(res.status).toBe(403);
          // Triton, IMS, gateway or UForge (uforgeError, XML by default) shape
          expect(
            res.body?.code ?? res.body?.error?.code ?? res.body?.error_code ?? (/<ns0:uforgeError[ >]/.test(text) || undefined),
          ).toBeTruthy();
        } else {
          expect([401, 403]).not.toContain(res.status);
        }
        break;
      case 'other via /my':
        // the caller's own namespace: the owner's resources named in the path do not exist for it
        expect([401, 403]).not.toContain(res.status);
        if (secretsFor('').some((s) => path.includes(s))) {
          expect(ok(res.status)).toBe(false);
          if (route.method === 'GET') expect(res.status).toBe(404); // "another account's private image → 404"
        }
        break;
      case 'acl member': {
        // reads of the shared image succeed; nothing of the owner's may be changed, and jobs and machines stay hidden
        expect(res.status).not.toBe(401);
        const namesImage = path.includes(owner.imageId) && /image/i.test(route.path);
        if (namesImage && route.method !== 'GET') expect(ok(res.status)).toBe(false);
        if (namesImage && route.method === 'GET' && route.dialect === 'triton') expect(ok(res.status) || res.status === 302).toBe(true);
        if (path.includes(owner.jobId) || path.includes(owner.machineId)) expect(res.status).toBe(404);
        for (const secret of memberSecretsFor(path)) expect(text).not.toContain(secret);
        return;
      }
      case 'owner':
        expect([401, 403]).not.toContain(res.status);
        return; // the owner may see its own data
    }
    for (const secret of secretsFor(path)) expect(text).not.toContain(secret);
  });

  it('has a row for every route and principal', () => {
    expect(cases.length).toBeGreaterThanOrEqual(routes.length * 7);
  });
});
