/**
 * Per-account quotas (defaults: 100 images, 4 building at once): a burst of creates starts at most
 * the concurrent-build quota, the rest answer 409 QuotaExceeded (IMS 400) without writing anything;
 * an account at its image quota can create nothing more (nor clone); IMS's quota route reports both.
 */
import { api, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken, seedActiveImages } from '../../helpers/fixtures';
import { DEFAULT_QUOTAS } from '../../../lambdas/core/quota';

describe('per-account quotas', () => {
  it('starts at most the concurrent-build quota from a burst; the rest are refused, leaving nothing', async () => {
    const user = await makeAccount('quota');
    const { machine } = await makeMachine(user.login, { size: 8 * 1024 * 1024 });
    // a token: more simultaneous password attempts than the throttle's round would be refused (docs/decisions/lockout.md)
    const h = { as: null, headers: { 'x-auth-token': await makeToken(user.login) } };
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api('POST', `/${user.login}/images`, { machine: machine.id, name: `burst-${i}`, version: '1.0.0' }, h),
      ),
    );
    const accepted = burst.filter((r) => r.status === 201);
    const refused = burst.filter((r) => r.status !== 201);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect([r.status, r.body.code]).toEqual([409, 'QuotaExceeded']);
    // the account's own images (the listing also shows other accounts' public ones)
    const all = await api('GET', `/${user.login}/images?state=all&owner=${user.id}`);
    expect(all.body.length).toBe(accepted.length);
    // once they are done, building is possible again
    for (const r of accepted)
      await poll(
        () => api('GET', `/${user.login}/images/${r.body.id}`),
        (x) => x.body?.state !== 'creating',
      );
    expect((await api('POST', `/${user.login}/images`, { machine: machine.id, name: 'after', version: '1.0.0' })).status).toBe(201);
  });

  it('IMS: a burst past the build quota answers 400 IMG.0001; the quota route reports usage and limits', async () => {
    const user = await makeAccount('quotaims');
    const token = await makeToken(user.login);
    const { machine } = await makeMachine(user.login, { size: 4 * 1024 * 1024 });
    const h = { headers: { 'x-auth-token': token } };
    const burst = await Promise.all(
      Array.from({ length: 3 * DEFAULT_QUOTAS.concurrentBuilds }, (_, i) =>
        api('POST', '/v2/cloudimages/action', { name: `hold-${i}`, instance_id: machine.id }, h),
      ),
    );
    const refused = burst.filter((r) => r.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect([r.status, r.body.error?.code]).toEqual([400, 'IMG.0001']);
    const quota = await api('GET', '/v1/cloudimages/quota', undefined, h);
    expect(quota.status).toBe(200);
    expect(quota.body.quotas.resources).toEqual([
      { type: 'image', used: expect.any(Number), quota: DEFAULT_QUOTAS.images, min: 1, max: DEFAULT_QUOTAS.images },
      {
        type: 'image_build',
        used: expect.any(Number),
        quota: DEFAULT_QUOTAS.concurrentBuilds,
        min: 1,
        max: DEFAULT_QUOTAS.concurrentBuilds,
      },
    ]);
    expect(quota.body.quotas.resources[1].used).toBeLessThanOrEqual(DEFAULT_QUOTAS.concurrentBuilds);
  });

  it('refuses creates and clones at the image quota, and reports it', async () => {
    const user = await makeAccount('quotafull');
    const owner = await makeAccount('quotasrc');
    await seedActiveImages(user.id, DEFAULT_QUOTAS.images);
    const { machine } = await makeMachine(user.login, { size: 4096 });
    const res = await api('POST', `/${user.login}/images`, { machine: machine.id, name: 'one-more', version: '1.0.0' });
    expect([res.status, res.body.code]).toEqual([409, 'QuotaExceeded']);
    const token = await makeToken(user.login);
    const ims = await api(
      'POST',
      '/v2/cloudimages/action',
      { name: 'one-more', instance_id: machine.id },
      { headers: { 'x-auth-token': token } },
    );
    expect([ims.status, ims.body.error?.code]).toEqual([400, 'IMG.0001']);
    const quota = await api('GET', '/v1/cloudimages/quota', undefined, { headers: { 'x-auth-token': token } });
    expect(quota.body.quotas.resources[0]).toMatchObject({ type: 'image', used: DEFAULT_QUOTAS.images });
    // a clone needs room too
    const { machine: m2 } = await makeMachine(owner.login, { size: 4096 });
    const src = await api('POST', `/${owner.login}/images`, { machine: m2.id, name: 'src', version: '1.0.0', acl: [user.id] });
    await poll(
      () => api('GET', `/${owner.login}/images/${src.body.id}`),
      (x) => x.body?.state !== 'creating',
    );
    const clone = await api('POST', `/${user.login}/images/${src.body.id}?action=clone`, {});
    expect([clone.status, clone.body.code]).toEqual([409, 'QuotaExceeded']);
  }, 120_000);
});
