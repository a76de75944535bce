/**
 * Provisioning in ranges on the embedded local stack (scaled down by test/helpers/global-setup.ts:
 * disks from 64 MiB build — and expand — in 16 MiB ranges). An image built in ranges carries a range
 * index beside its file; provisioning a machine from it expands each range in its own invocation into
 * one multipart upload of the disk (lambdas/workflow/expansion.ts). Faults are injected only in the
 * local S3 (local/faults.ts).
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { finishedExecutionOutput } from '../../helpers/executions';
import { createHash } from 'node:crypto';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { TEST_CHUNKING, TEST_COPY } from '../../helpers/global-setup';
import { armS3Fault } from '../../helpers/s3-faults';
import { diskLeftovers } from '../../helpers/leftovers';
import { imageRepository } from '../../../lambdas/wiring';
import { locateRange, rangeIndexKey, type RangeIndex } from '../../../lambdas/workflow/range-index';

const MiB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sfn = new SFNClient({
  endpoint: stack.env.AWS_ENDPOINT_URL_SFN,
  region: stack.env.AWS_REGION,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});

/** The final state document of the provisioning execution of `machineId`. */
async function provisionOutput(machineId: string): Promise<Record<string, any>> {
  return finishedExecutionOutput(sfn, stack.env.PROVISION_STATE_MACHINE_ARN, (input) => input.machineId === machineId);
}

const provisioned = (login: string, id: string) =>
  poll(
    () => api('GET', `/${login}/machines/${id}`),
    (r) => r.body?.state !== 'provisioning',
    { intervalMs: 250, attempts: 1200 },
  );

async function diskBytesOf(machineId: string): Promise<Buffer> {
  const key = (await provisionOutput(machineId)).disk.key as string;
  const out = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('provisioning from an image built in ranges', () => {
  let login: string;
  let imageId: string;
  let fileKey: string;
  let index: RangeIndex;
  let diskSha: string;
  let machineId: string;
  const size = 72 * MiB + 4099; // five ranges of 16 MiB, the last one short

  beforeAll(async () => {
    login = (await makeAccount('rexp')).login;
    const { machine, diskBytes } = await makeMachine(login, { size });
    diskSha = sha256(diskBytes());
    machineId = machine.id;
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'ranged', version: '1.0.0' });
    expect(created.status).toBe(201);
    const image = await poll(
      () => api('GET', `/${login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 250, attempts: 1200 },
    );
    expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
    imageId = created.body.id;
    const file = (await imageRepository().get(imageId))!.files[0]!;
    fileKey = file.key;
    const out = await s3().send(new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: rangeIndexKey(fileKey) }));
    index = JSON.parse(await out.Body!.transformToString()) as RangeIndex;
  }, 300_000);
  afterAll(() => sfn.destroy());

  it('clones an uncompressed image in a checkpointed copy loop (parts, then the read-back check, each over several calls, a failed call resumed), with its range index, and provisions from the clone in ranges', async () => {
    // Prepare: the same disk stored uncompressed (72 MiB: more parts than one call copies)
    const made = await api('POST', `/${login}/images`, { machine: machineId, name: 'ranged-raw', version: '1.0.0', compression: 'none' });
    expect(made.status).toBe(201);
    const rawImage = await poll(
      () => api('GET', `/${login}/images/${made.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 250, attempts: 1200 },
    );
    expect(rawImage.body.state).toBe('active');
    const file = (await imageRepository().get(made.body.id))!.files[0]!;
    expect(file).toMatchObject({ compression: 'none', size, rangeIndex: { rawSize: size } });
    const fileKey = file.key;
    const imageId = made.body.id;
    // the last part copy fails all of the SDK's attempts once, so one CopyFile call fails and is retried
    const parts = Math.ceil(file.size / TEST_COPY.partBytes);
    expect(parts).toBeGreaterThan(Math.floor(TEST_CHUNKING.hashBytesPerInvocation / TEST_COPY.partBytes)); // more than one call's worth
    const source = `${stack.env.IMAGES_BUCKET}/${fileKey}`;
    const faults = await armS3Fault(
      { op: 'UploadPartCopy', copySourcePrefix: source, minPartNumber: parts, times: 3 },
      { op: 'UploadPartCopy', copySourcePrefix: source, times: 0 }, // counts the other parts' copies
    );
    const friend = await makeAccount('rexpf');
    await api('POST', `/${login}/images/${imageId}?action=update`, { acl: [friend.id] });
    let cloneId: string;
    let output: Record<string, any>;
    try {
      // Act
      const res = await api('POST', `/${friend.login}/images/${imageId}?action=clone`);
      expect(res.status).toBe(200);
      expect(res.body.state).toBe('creating');
      cloneId = res.body.id;
      const jobId = res.headers.get('x-joyent-jobid')!;
      const job = await poll(
        () => api('GET', `/${friend.login}/jobs/${jobId}`),
        (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
        { intervalMs: 250, attempts: 1200 },
      );
      expect(job.body).toMatchObject({ status: 'SUCCESS', progress: 100 });
      output = await finishedExecutionOutput(sfn, stack.env.STATE_MACHINE_ARN, (input) => input.jobId === jobId);
      // Assess: the loop, and the failed call resumed without copying the earlier parts again
      expect(await faults.seen()).toBe(4 + (parts - 1));
    } finally {
      await faults();
    }
    const copyCalls = Math.ceil(parts / Math.floor(TEST_CHUNKING.hashBytesPerInvocation / TEST_COPY.partBytes));
    const verifyCalls = Math.ceil(file.size / TEST_CHUNKING.hashBytesPerInvocation);
    expect(output.copied).toMatchObject({ done: true, invocations: copyCalls + verifyCalls, offset: file.size });
    expect(copyCalls).toBeGreaterThanOrEqual(2);
    expect(verifyCalls).toBeGreaterThanOrEqual(2);
    const clone = (await imageRepository().get(cloneId))!;
    expect(clone.state).toBe('active');
    expect(clone.files[0]).toMatchObject({ size: file.size, sha1: file.sha1, sha256: file.sha256, rangeIndex: file.rangeIndex });
    const cloned = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: `images/${cloneId}/` }));
    expect((cloned.Contents ?? []).map((o) => o.Key).sort()).toEqual([clone.files[0]!.key, rangeIndexKey(clone.files[0]!.key)].sort());
    // Act: provision from the clone
    const m = await api('POST', `/${friend.login}/machines`, { image: cloneId, package: 'g1-small', name: 'from-clone' });
    const done = await provisioned(friend.login, m.body.id);
    expect({ state: done.body.state, error: done.body.error }).toEqual({ state: 'running', error: undefined });
    expect((await provisionOutput(m.body.id)).expansion.ranges).toBe(file.rangeIndex!.ranges);
    expect(sha256(await diskBytesOf(m.body.id))).toBe(diskSha);
  }, 300_000);

  it('records a range index with the image file: one entry per build range, locating the whole file', async () => {
    const file = (await imageRepository().get(imageId))!.files[0]!;
    const ranges = Math.ceil(size / TEST_CHUNKING.rangeBytes);
    expect(file.rangeIndex).toEqual({ ranges, rangeBytes: TEST_CHUNKING.rangeBytes, rawSize: size });
    expect(index).toMatchObject({ version: 1, ranges, rawSize: size, fileSize: file.size });
    expect(index.lengths.reduce((a, b) => a + b, 0)).toBe(file.size);
    expect(index.md5.every((m) => typeof m === 'string' && /^[0-9a-f]{32}$/.test(m))).toBe(true);
    // the image's files are unchanged on the wire: the index is not one of them
    const wire = await api('GET', `/${login}/images/${imageId}`);
    expect(wire.body.files).toHaveLength(1);
    expect(Object.keys(wire.body.files[0]).sort()).toEqual(['compression', 'sha1', 'sha256', 'size']);
  });

  it('expands the image in ≥ 4 ranges, each its own invocation, into a disk equal to the source byte for byte', async () => {
    // Act
    const res = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small', name: 'ranged' });
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('provisioning');
    const done = await provisioned(login, res.body.id);
    // Assess
    expect({ state: done.body.state, error: done.body.error }).toEqual({ state: 'running', error: undefined });
    const out = await provisionOutput(res.body.id);
    expect(out.expansion.ranges).toBe(Math.ceil(size / TEST_CHUNKING.rangeBytes));
    expect(out.expansion.ranges).toBeGreaterThanOrEqual(4);
    expect(out.expanded).toEqual({ size });
    const disk = await diskBytesOf(res.body.id);
    expect(disk.length).toBe(size);
    expect(sha256(disk)).toBe(diskSha);
    expect(await diskLeftovers(res.body.id)).toEqual({ objects: 1, uploads: 0 });
  }, 300_000);

  it('retries a range whose read failed once and still makes the exact disk', async () => {
    // Prepare: every SDK attempt of range 2's GET fails once, so that ExpandRange invocation fails and is retried
    const r = locateRange(index, 2);
    const disarm = await armS3Fault({
      op: 'GetObject',
      prefix: fileKey,
      range: `bytes=${r.fileStart}-${r.fileStart + r.fileLength - 1}`,
      times: 3,
    });
    try {
      // Act
      const res = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small', name: 'ranged-flaky' });
      const done = await provisioned(login, res.body.id);
      // Assess
      expect({ state: done.body.state, error: done.body.error }).toEqual({ state: 'running', error: undefined });
      expect(await disarm.seen()).toBe(4); // three failed attempts, then the retried invocation's read
      expect(sha256(await diskBytesOf(res.body.id))).toBe(diskSha);
      expect(await diskLeftovers(res.body.id)).toEqual({ objects: 1, uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);

  it('fails the machine with the reason, and leaves no disk and no open upload, when a range fails for good', async () => {
    const r = locateRange(index, 3);
    const disarm = await armS3Fault({
      op: 'GetObject',
      prefix: fileKey,
      range: `bytes=${r.fileStart}-${r.fileStart + r.fileLength - 1}`,
      times: -1,
    });
    try {
      const res = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small', name: 'ranged-doomed' });
      const done = await provisioned(login, res.body.id);
      expect(done.body).toMatchObject({
        state: 'failed',
        disks: [],
        error: { code: 'TransientStorageError', message: expect.stringContaining(`range 3 of the image file`) },
      });
      expect(await disarm.seen()).toBeGreaterThanOrEqual(3);
      expect(await diskLeftovers(res.body.id)).toEqual({ objects: 0, uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);
});
