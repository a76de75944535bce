/**
 * Stored image files are checked against their manifest (size, sha1, sha256) on every read that
 * passes them on: provisioning a machine, cloning, Triton export, IMS export. A file replaced or
 * corrupted in storage is refused with a typed error (409 InvalidState / IMS job FAIL), and nothing
 * made from it is left behind: no machine disk, no clone file, no export object.
 */
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { acceptShare } from './share-helpers';

const keysUnder = async (Bucket: string, Prefix: string) =>
  ((await s3().send(new ListObjectsV2Command({ Bucket, Prefix }))).Contents ?? []).map((o) => o.Key!);

describe('image file integrity on every read', () => {
  let owner: Awaited<ReturnType<typeof makeAccount>>;
  let sharee: Awaited<ReturnType<typeof makeAccount>>;
  let image: { id: string; files: { size: number }[] };

  beforeAll(async () => {
    owner = await makeAccount('integ');
    sharee = await makeAccount('integsh');
    const { machine } = await makeMachine(owner.login, { size: 256 * 1024 });
    const created = await api('POST', `/${owner.login}/images`, {
      machine: machine.id,
      name: `i-${randomBytes(3).toString('hex')}`,
      version: '1.0.0',
      compression: 'none',
    });
    expect(created.status).toBe(201);
    const done = await poll(
      () => api('GET', `/${owner.login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
    );
    expect(done.body.state).toBe('active');
    image = done.body;
    expect((await api('POST', `/${owner.login}/images/${image.id}?action=update`, { acl: [sharee.id] })).status).toBe(200);
    await acceptShare(sharee, image.id);
    // the attack: same size, other bytes (a replaced file)
    await s3().send(
      new PutObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `images/${image.id}/file`, Body: randomBytes(image.files[0].size) }),
    );
  }, 60_000);

  it('refuses to provision a machine from it, leaving no disk', async () => {
    const before = await keysUnder(stack.env.DISKS_BUCKET, 'machines/');
    // provisioning is asynchronous (docs/decisions/async-provisioning.md): the workflow's check fails it
    const res = await api('POST', `/${owner.login}/machines`, { image: image.id, package: 'g1-small', name: 'from-corrupt' });
    expect([res.status, res.body.state]).toEqual([201, 'provisioning']);
    const ended = await poll(
      () => api('GET', `/${owner.login}/machines/${res.body.id}`),
      (r) => r.body?.state !== 'provisioning',
    );
    expect(ended.body).toMatchObject({ state: 'failed', error: { message: expect.stringMatching(/manifest/) } });
    expect(await keysUnder(stack.env.DISKS_BUCKET, 'machines/')).toEqual(before);
    const machines = await api('GET', `/${owner.login}/machines?name=from-corrupt`);
    expect(machines.body.filter((m: { state: string }) => m.state !== 'failed')).toEqual([]);
  });

  it('refuses to clone it: the clone ends failed with no file', async () => {
    const res = await api('POST', `/${sharee.login}/images/${image.id}?action=clone`, {});
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('InvalidState');
    const mine = await api('GET', `/${sharee.login}/images?state=all&owner=${sharee.id}`);
    for (const clone of mine.body) {
      expect(clone.state).toBe('failed');
      expect(await keysUnder(stack.env.IMAGES_BUCKET, `images/${clone.id}/`)).toEqual([]);
    }
  });

  it('refuses to export it (Triton and IMS), leaving no export object', async () => {
    const triton = await api('POST', `/${owner.login}/images/${image.id}?action=export`, { manta_path: '/stor/corrupt' });
    expect(triton.status).toBe(409);
    expect(await keysUnder(stack.env.IMAGES_BUCKET, `exports/${owner.id}/stor/corrupt/`)).toEqual([]);
    const token = await makeToken(owner.login);
    const res = await api(
      'POST',
      `/v1/cloudimages/${image.id}/file`,
      { bucket_url: 'obkt:corrupt.raw', file_format: 'raw' },
      { headers: { 'x-auth-token': token } },
    );
    expect(res.status).toBe(200);
    const job = await poll(
      () => api('GET', `/v1/${owner.id}/jobs/${res.body.job_id}`, undefined, { headers: { 'x-auth-token': token } }),
      (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
    );
    expect(job.body).toMatchObject({ status: 'FAIL', fail_reason: expect.stringMatching(/manifest/) });
    expect(await keysUnder(stack.env.IMAGES_BUCKET, `user-buckets/${owner.id}/obkt/`)).toEqual([]);
  });
});
