/**
 * Sharing with consent: a share is pending until the sharee accepts it. A pending (or rejected)
 * share is reachable by id but neither listed by default nor found by name, so an account cannot
 * plant an image under the name another account uses (image squatting). Sharees see only their own
 * acl entry and never `__data_origin`. Triton answers with `action=accept-share|reject-share`, IMS
 * with `PUT /v1/cloudimages/members`; both list by `member_status`.
 */
import { randomBytes } from 'node:crypto';
import { api, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';

type Account = Awaited<ReturnType<typeof makeAccount>>;

async function activeImage(owner: Account, name: string): Promise<{ id: string }> {
  const { machine } = await makeMachine(owner.login, { size: 64 * 1024 });
  const created = await api('POST', `/${owner.login}/images`, { machine: machine.id, name, version: '1.0.0' });
  expect(created.status).toBe(201);
  const done = await poll(
    () => api('GET', `/${owner.login}/images/${created.body.id}`),
    (r) => r.body?.state !== 'creating',
  );
  expect(done.body.state).toBe('active');
  return done.body;
}

describe('sharing with consent', () => {
  let victim: Account;
  let attacker: Account;
  let bystander: Account;
  let victimImage: { id: string };
  let planted: { id: string };
  const name = `base-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    [victim, attacker, bystander] = await Promise.all([makeAccount('shv'), makeAccount('sha'), makeAccount('shb')]);
    victimImage = await activeImage(victim, name);
    // the attack: a newer image under the victim's name, shared unasked with the victim (and a bystander)
    planted = await activeImage(attacker, `other-${randomBytes(2).toString('hex')}`);
    const renamed = await api('POST', `/${attacker.login}/images/${planted.id}?action=update`, { name, acl: [victim.id, bystander.id] });
    expect(renamed.status).toBe(200);
  }, 90_000);

  it("a pending share is not listed, not found by name, but reachable by id showing only the caller's acl entry", async () => {
    const byName = await api('GET', `/${victim.login}/images?name=${name}`);
    expect(byName.body.map((i: { id: string }) => i.id)).toEqual([victimImage.id]);
    const all = await api('GET', `/${victim.login}/images?state=all`);
    expect(all.body.map((i: { id: string }) => i.id)).not.toContain(planted.id);
    const pending = await api('GET', `/${victim.login}/images?member_status=pending`);
    expect(pending.body.map((i: { id: string }) => i.id)).toEqual([planted.id]);
    const direct = await api('GET', `/${victim.login}/images/${planted.id}`);
    expect(direct.status).toBe(200);
    expect(direct.body.acl).toEqual([victim.id]);
    const asOwner = await api('GET', `/${attacker.login}/images/${planted.id}`);
    expect(asOwner.body.acl.sort()).toEqual([victim.id, bystander.id].sort());
    const ims = await api('GET', `/v2/cloudimages?name=${name}`, undefined, { headers: { 'x-auth-token': await makeToken(victim.login) } });
    expect(ims.body.images.map((i: { id: string }) => i.id)).toEqual([victimImage.id]);
  });

  it('only a sharee may answer; the owner and strangers get 404', async () => {
    expect((await api('POST', `/${attacker.login}/images/${planted.id}?action=accept-share`, {})).status).toBe(404);
    const stranger = await makeAccount('shs');
    expect((await api('POST', `/${stranger.login}/images/${planted.id}?action=accept-share`, {})).status).toBe(404);
    expect((await api('POST', `/${victim.login}/images/${victimImage.id}?action=accept-share`, {})).status).toBe(404);
  });

  it('accepting lists it (and by name); rejecting hides it again but keeps it reachable by id', async () => {
    const accepted = await api('POST', `/${bystander.login}/images/${planted.id}?action=accept-share`, {});
    expect(accepted.status).toBe(200);
    expect(accepted.body.acl).toEqual([bystander.id]);
    const byName = await api('GET', `/${bystander.login}/images?name=${name}`);
    expect(byName.body.map((i: { id: string }) => i.id)).toEqual([planted.id]);
    expect((await api('POST', `/${bystander.login}/images/${planted.id}?action=reject-share`, {})).status).toBe(200);
    expect((await api('GET', `/${bystander.login}/images?name=${name}`)).body).toEqual([]);
    expect((await api('GET', `/${bystander.login}/images?member_status=rejected`)).body.map((i: { id: string }) => i.id)).toEqual([
      planted.id,
    ]);
    expect((await api('GET', `/${bystander.login}/images/${planted.id}`)).status).toBe(200);
    // the victim's own listing was never affected
    expect((await api('GET', `/${victim.login}/images?name=${name}`)).body.map((i: { id: string }) => i.id)).toEqual([victimImage.id]);
  });

  it("IMS: PUT /v1/cloudimages/members answers for the caller's project only; member_status lists; no __data_origin for sharees", async () => {
    const token = await makeToken(victim.login);
    const h = { headers: { 'x-auth-token': token } };
    const foreign = await api('PUT', '/v1/cloudimages/members', { images: [planted.id], project_id: attacker.id, status: 'accepted' }, h);
    expect(foreign.status).toBe(403);
    const pending = await api('GET', '/v2/cloudimages?member_status=pending', undefined, h);
    expect(pending.body.images.map((i: { id: string }) => i.id)).toEqual([planted.id]);
    expect(pending.body.images[0].__data_origin).toBe('');
    const res = await api('PUT', '/v1/cloudimages/members', { images: [planted.id], project_id: victim.id, status: 'accepted' }, h);
    expect(res.status).toBe(200);
    const job = await api('GET', `/v1/${victim.id}/jobs/${res.body.job_id}`, undefined, h);
    expect(job.body.status).toBe('SUCCESS');
    const shared = await api('GET', '/v2/cloudimages?__imagetype=shared', undefined, h);
    expect(shared.body.images.map((i: { id: string }) => i.id)).toEqual([planted.id]);
    const bad = await api('PUT', '/v1/cloudimages/members', { images: [victimImage.id], project_id: victim.id, status: 'accepted' }, h);
    const badJob = await api('GET', `/v1/${victim.id}/jobs/${bad.body.job_id}`, undefined, h);
    expect(badJob.body.status).toBe('FAIL');
  });
});
