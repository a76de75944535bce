/**
 * Object keys a caller names (IMS `image_url`, `data_images[].image_url`, export `bucket_url`; Triton
 * export `manta_path`) never leave the caller's own area: a key is refused by segment ("..", ".", empty
 * segments, control characters, backslashes) before anything reads or writes, so another account's
 * bucket objects, image files and machine disks can be neither imported nor overwritten.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { putUserObject } from '../../helpers/ims-fixtures';

const ims = (token: string) => ({ headers: { 'x-auth-token': token } });
const bytesOf = async (Bucket: string, Key: string) =>
  Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());

describe("object keys stay in the caller's area", () => {
  let victim: Awaited<ReturnType<typeof makeAccount>>;
  let attacker: Awaited<ReturnType<typeof makeAccount>>;
  let attackerToken: string;
  let victimImage: { id: string; key: string };
  const secret = randomBytes(70_000);

  beforeAll(async () => {
    victim = await makeAccount('victim');
    attacker = await makeAccount('attacker');
    attackerToken = await makeToken(attacker.login);
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, victim.id, 'vbkt', 'secret.raw', secret);
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, attacker.id, 'abkt', 'disk.raw', Buffer.alloc(65536, 3));
    const { machine } = await makeMachine(victim.login, { size: 128 * 1024 });
    const created = await api('POST', `/${victim.login}/images`, {
      machine: machine.id,
      name: `v-${randomBytes(3).toString('hex')}`,
      version: '1.0.0',
      compression: 'none',
    });
    expect(created.status).toBe(201);
    const done = await poll(
      () => api('GET', `/${victim.login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
    );
    expect(done.body.state).toBe('active');
    victimImage = { id: created.body.id, key: `images/${created.body.id}/file` };
  }, 60_000);

  const hostileKeys = (victimId: string) => [
    `../../${victimId}/vbkt/secret.raw`,
    `../vbkt/secret.raw`,
    `x/../../../${victimId}/vbkt/secret.raw`,
    `./disk.raw`,
    `a/./disk.raw`,
    `..`,
    `/disk.raw`,
    `a//disk.raw`,
    `dir/`,
    `disk\u0000.raw`,
    `disk\u001b[2J.raw`,
    `..\\..\\${victimId}\\vbkt\\secret.raw`,
  ];

  it('refuses traversal and malformed keys in image_url and data_images[].image_url with 400, starting nothing', async () => {
    for (const key of hostileKeys(victim.id)) {
      const res = await api(
        'POST',
        '/v2/cloudimages/action',
        { name: `steal-${randomBytes(3).toString('hex')}`, image_url: `abkt:${key}`, min_disk: 40 },
        ims(attackerToken),
      );
      expect([key, res.status, res.body?.error?.code]).toEqual([key, 400, expect.stringMatching(/^IMG\./)]);
      const data = await api(
        'POST',
        '/v2/cloudimages/action',
        {
          name: `steal-${randomBytes(3).toString('hex')}`,
          image_url: 'abkt:disk.raw',
          min_disk: 40,
          data_images: [{ image_url: `abkt:${key}`, min_disk: 1 }],
        },
        ims(attackerToken),
      );
      expect([key, data.status]).toEqual([key, 400]);
    }
    for (const bucket of ['a..b', '..', '.abkt', 'ABKT']) {
      const res = await api(
        'POST',
        '/v2/cloudimages/action',
        { name: 'steal-bucket', image_url: `${bucket}:disk.raw`, min_disk: 40 },
        ims(attackerToken),
      );
      expect([bucket, res.status]).toEqual([bucket, 400]);
    }
    const mine = await api('GET', '/v2/cloudimages?__imagetype=private', undefined, ims(attackerToken));
    expect(mine.body.images).toEqual([]);
  });

  it("refuses traversal keys in export bucket_url: the victim's image file is untouched", async () => {
    const own = await api('POST', '/v2/cloudimages/action', { name: 'mine', image_url: 'abkt:disk.raw', min_disk: 40 }, ims(attackerToken));
    expect(own.status).toBe(200);
    const job = await poll(
      () => api('GET', `/v1/${attacker.id}/jobs/${own.body.job_id}`, undefined, ims(attackerToken)),
      (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
    );
    expect(job.body.status).toBe('SUCCESS');
    const imageId = job.body.entities.image_id;
    const before = await bytesOf(stack.env.IMAGES_BUCKET, victimImage.key);
    for (const key of [`../../../images/${victimImage.id}/file`, `../../${victim.id}/vbkt/secret.raw`, ...hostileKeys(victim.id)]) {
      const res = await api(
        'POST',
        `/v1/cloudimages/${imageId}/file`,
        { bucket_url: `abkt:${key}`, file_format: 'raw' },
        ims(attackerToken),
      );
      expect([key, res.status, res.body?.error?.code]).toEqual([key, 400, expect.stringMatching(/^IMG\./)]);
    }
    expect((await bytesOf(stack.env.IMAGES_BUCKET, victimImage.key)).equals(before)).toBe(true);
    expect((await bytesOf(stack.env.IMAGES_BUCKET, `user-buckets/${victim.id}/vbkt/secret.raw`)).equals(secret)).toBe(true);
    // nothing of the attacker's landed outside its own area
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: 'user-buckets/' }));
    const foreign = (listed.Contents ?? [])
      .map((o) => o.Key!)
      .filter((k) => !k.startsWith(`user-buckets/${victim.id}/`) && k.includes('secret'));
    expect(foreign).toEqual([]);
  });

  it("refuses traversal in Triton export manta_path and keeps exports under the caller's prefix", async () => {
    for (const manta_path of ['/../../images', `/${victim.login}/../..`, '/a/./b', 'a\u0000b', `/x/..`]) {
      const res = await api('POST', `/${victim.login}/images/${victimImage.id}?action=export`, { manta_path });
      expect([manta_path, res.status]).toEqual([manta_path, expect.any(Number)]);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    const ok = await api('POST', `/${victim.login}/images/${victimImage.id}?action=export`, { manta_path: '/stor//deep/' });
    expect(ok.status).toBe(200);
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: 'exports/' }));
    const victimExports = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes(victimImage.id) || k.includes('deep'));
    for (const k of victimExports) expect(k.startsWith(`exports/${victim.id}/`)).toBe(true);
  });
});
