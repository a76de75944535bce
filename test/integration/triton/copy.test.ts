/**
 * Copies of any size over real HTTP: with the local stack's multipart threshold scaled down to 1 MiB
 * (test/helpers/global-setup.ts), clone and export of a 12 MiB file are multipart copies
 * (UploadPartCopy of 5 MiB ranges in parallel, local/s3.ts) whose bytes equal the source's; a part
 * that fails for good leaves the clone `failed` with no object and no open upload.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = async (key: string) =>
  Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: key }))).Body!.transformToByteArray());
const underPrefix = async (Prefix: string) => ({
  objects: ((await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!),
  uploads: ((await s3().send(new ListMultipartUploadsCommand({ Bucket: stack.env.IMAGES_BUCKET, Prefix }))).Uploads ?? []).map(
    (u) => u.Key!,
  ),
});

describe('multipart copies (clone, export)', () => {
  let owner: { login: string; id: string };
  let imageId: string;
  let fileKey: string;
  let diskSha: string;
  beforeAll(async () => {
    owner = await makeAccount('copyo');
    // 12 MiB uncompressed: three 5 MiB-or-less parts above the 1 MiB threshold
    const { machine, diskBytes } = await makeMachine(owner.login, { size: 12 * MiB + 4321 });
    diskSha = sha256(diskBytes());
    const created = await api('POST', `/${owner.login}/images`, { machine: machine.id, name: 'big', version: '1', compression: 'none' });
    const done = await poll(
      () => api('GET', `/${owner.login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 100, attempts: 600 },
    );
    expect(done.body.state).toBe('active');
    imageId = created.body.id;
    fileKey = (await underPrefix(`images/${imageId}/`)).objects[0];
    expect(sha256(await bytesOf(fileKey))).toBe(diskSha);
  });

  it('clones by a multipart copy: the clone’s file is byte-identical', async () => {
    const friend = await makeAccount('copyf');
    await api('POST', `/${owner.login}/images/${imageId}?action=update`, { acl: [friend.id] });
    const counter = await armS3Fault({ op: 'UploadPartCopy', copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`, times: 0 });
    try {
      const res = await api('POST', `/${friend.login}/images/${imageId}?action=clone`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ owner: friend.id, state: 'active' });
      expect(await counter.seen()).toBe(3);
      const copied = await underPrefix(`images/${res.body.id}/`);
      expect(copied.uploads).toEqual([]);
      expect(copied.objects).toHaveLength(1);
      expect(sha256(await bytesOf(copied.objects[0]))).toBe(diskSha);
    } finally {
      await counter();
    }
  });

  it('exports by a multipart copy: the exported file is byte-identical', async () => {
    const counter = await armS3Fault({ op: 'UploadPartCopy', copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`, times: 0 });
    try {
      const res = await api('POST', `/${owner.login}/images/${imageId}?action=export`, { manta_path: `/${owner.login}/stor/big-export` });
      expect(res.status).toBe(200);
      expect(await counter.seen()).toBe(3);
      const key = `exports/${owner.id}${res.body.image_path}`;
      expect(sha256(await bytesOf(key))).toBe(diskSha);
      expect((await underPrefix(`exports/${owner.id}/`)).uploads).toEqual([]);
    } finally {
      await counter();
    }
  });

  it('a part that fails for good: the clone is failed, with no object and no open upload left', async () => {
    const friend = await makeAccount('copyg');
    await api('POST', `/${owner.login}/images/${imageId}?action=update`, { acl: [friend.id] });
    const fault = await armS3Fault({
      op: 'UploadPartCopy',
      copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`,
      minPartNumber: 2,
      times: -1,
    });
    try {
      const res = await api('POST', `/${friend.login}/images/${imageId}?action=clone`);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('ServiceUnavailable');
      expect(await fault.seen()).toBeGreaterThanOrEqual(2);
    } finally {
      await fault();
    }
    const mine = await api('GET', `/${friend.login}/images?state=all`);
    const clone = (mine.body as { id: string; owner: string; state: string }[]).find((i) => i.owner === friend.id);
    expect(clone).toMatchObject({ state: 'failed' });
    expect(await underPrefix(`images/${clone!.id}/`)).toEqual({ objects: [], uploads: [] });
  });
});
