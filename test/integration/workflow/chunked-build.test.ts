/**
 * Chunked builds on the embedded local stack (scaled down by test/helpers/global-setup.ts: disks from
 * 64 MiB build in 16 MiB ranges, 32 MiB hashed per invocation). The state machine is the one CDK
 * synthesizes; faults are injected only in the local S3 (local/faults.ts).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { adminOps } from '../../../local/admin-ops';
import { TEST_CHUNKING } from '../../helpers/global-setup';
import type { FaultRule } from '../../../local/faults';
import { jobRepository } from '../../../lambdas/wiring';

const MiB = 1024 * 1024;
const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
const sfn = new SFNClient({
  endpoint: stack.env.AWS_ENDPOINT_URL_SFN,
  region: stack.env.AWS_REGION,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});

async function setFaults(rules: FaultRule[]): Promise<FaultRule[]> {
  const res = await fetch(`${stack.env.AWS_ENDPOINT_URL_S3}/__faults`, {
    method: rules.length ? 'PUT' : 'DELETE',
    body: rules.length ? JSON.stringify(rules) : undefined,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as FaultRule[];
}
const faultHits = async (): Promise<number[]> =>
  ((await (await fetch(`${stack.env.AWS_ENDPOINT_URL_S3}/__faults`)).json()) as { hits: number }[]).map((r) => r.hits);

/** The final state document of the build execution of `imageId`. */
async function executionOutput(imageId: string): Promise<Record<string, any>> {
  const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.env.STATE_MACHINE_ARN, maxResults: 1000 }));
  for (const e of list.executions ?? []) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    if (JSON.parse(d.input ?? '{}').imageId === imageId) return JSON.parse(d.output ?? 'null') ?? {};
  }
  throw new Error(`no execution for image ${imageId}`);
}

async function download(login: string, imageId: string): Promise<Buffer> {
  const redirect = await api('GET', `/${login}/images/${imageId}/file`);
  expect(redirect.status).toBe(302);
  const res = await fetch(redirect.headers.get('location')!);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function leftovers(imageId: string): Promise<{ objects: number; uploads: number }> {
  const Bucket = stack.env.IMAGES_BUCKET;
  const Prefix = `images/${imageId}/`;
  const objects = await s3().send(new ListObjectsV2Command({ Bucket, Prefix }));
  const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
  return { objects: objects.KeyCount ?? 0, uploads: uploads.Uploads?.length ?? 0 };
}

const waitForImage = (login: string, id: string) =>
  poll(
    () => api('GET', `/${login}/images/${id}`),
    (r) => r.body?.state !== 'creating',
    { intervalMs: 250, attempts: 1200 },
  );

describe('chunked builds', () => {
  let login: string;
  beforeAll(async () => {
    login = (await makeAccount('chunk')).login;
  });
  afterEach(() => setFaults([]));
  afterAll(() => sfn.destroy());

  it('builds a 200 MiB disk in ≥ 8 ranges and ≥ 3 hash invocations into one gzip file that is the disk exactly, with smooth progress and an eta', async () => {
    // Prepare
    const size = 200 * MiB + 12345;
    const { machine, diskBytes } = await makeMachine(login, { size });
    // Act
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'big', version: '1.0.0' });
    expect(created.status).toBe(201);
    const jobId = created.headers.get('x-joyent-jobid')!;
    const seen: { status: string; progress: number; eta?: string }[] = [];
    const job = await poll(
      async () => {
        const r = await api('GET', `/${login}/jobs/${jobId}`);
        seen.push({ status: r.body.status, progress: r.body.progress, eta: r.body.eta });
        return r;
      },
      (r) => r.body?.status === 'SUCCESS' || r.body?.status === 'FAIL',
      { intervalMs: 100, attempts: 3000 },
    );
    // Assess: the image and its file
    expect(job.body).toMatchObject({ status: 'SUCCESS', progress: 100 });
    const image = await api('GET', `/${login}/images/${created.body.id}`);
    expect(image.body.state).toBe('active');
    const file = image.body.files[0];
    expect(file.compression).toBe('gzip');
    const bytes = await download(login, created.body.id);
    expect(bytes.length).toBe(file.size);
    expect(sha('sha1', bytes)).toBe(file.sha1);
    expect(sha('sha256', bytes)).toBe(file.sha256);
    expect(gunzipSync(bytes).equals(diskBytes())).toBe(true);
    // Assess: how it was built
    const out = await executionOutput(created.body.id);
    expect(out.chunked.ranges).toBe(Math.ceil(size / TEST_CHUNKING.rangeBytes));
    expect(out.chunked.ranges).toBeGreaterThanOrEqual(8);
    expect(out.hash.invocations).toBeGreaterThanOrEqual(3);
    expect(out.hash.invocations).toBe(Math.ceil(file.size / TEST_CHUNKING.hashBytesPerInvocation));
    expect(out.assembled).toMatchObject({ size: file.size, parts: out.chunked.ranges });
    // Assess: progress only rises, passes through intermediate values, and an eta shows while running
    const progress = seen.map((s) => s.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress.filter((p) => p > 0 && p < 100)).size).toBeGreaterThanOrEqual(3);
    expect(seen.some((s) => s.status === 'RUNNING' && typeof s.eta === 'string' && Date.parse(s.eta) > 0)).toBe(true);
    // the file and its range index (lambdas/workflow/range-index.ts), no upload left open
    expect(await leftovers(created.body.id)).toEqual({ objects: 2, uploads: 0 });
  }, 300_000);

  it('stores a disk byte for byte with compression none', async () => {
    const size = 80 * MiB + 4096 + 3;
    const { machine, diskBytes } = await makeMachine(login, { size });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'big-raw', version: '1.0.0', compression: 'none' });
    expect(created.status).toBe(201);
    const image = await waitForImage(login, created.body.id);
    expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
    const file = image.body.files[0];
    const bytes = await download(login, created.body.id);
    expect(bytes.equals(diskBytes())).toBe(true);
    expect(file).toMatchObject({ compression: 'none', size, sha1: sha('sha1', bytes), sha256: sha('sha256', bytes) });
    expect((await executionOutput(created.body.id)).chunked.ranges).toBe(Math.ceil(size / TEST_CHUNKING.rangeBytes));
  }, 300_000);

  it('pads ranges that compress below S3 minimum part size (a disk of zeros), and the file still gunzips to the disk', async () => {
    // Prepare: 72 MiB of zeros, i.e. five ranges whose gzip output is a few KiB each
    const size = 72 * MiB;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'zeros-')), 'zeros.raw');
    writeFileSync(file, '');
    truncateSync(file, size);
    const machine = await adminOps.registerMachine({
      login,
      name: 'zeros',
      os: 'linux',
      type: 'lx-dataset',
      diskFile: file,
      state: 'stopped',
    });
    // Act
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'zeros', version: '1.0.0' });
    const image = await waitForImage(login, created.body.id);
    // Assess
    expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
    const bytes = await download(login, created.body.id);
    const ranges = Math.ceil(size / TEST_CHUNKING.rangeBytes);
    expect(bytes.length).toBeGreaterThanOrEqual((ranges - 1) * 5 * MiB); // every part but the last padded to 5 MiB
    expect(bytes.length).toBeLessThan(ranges * 5 * MiB + MiB);
    expect(sha('sha256', bytes)).toBe(image.body.files[0].sha256);
    const disk = gunzipSync(bytes);
    expect(disk.length).toBe(size);
    expect(disk.every((b) => b === 0)).toBe(true);
  }, 300_000);

  it('retries a range that failed once and still stores the disk exactly', async () => {
    const size = 72 * MiB;
    const { machine, diskBytes } = await makeMachine(login, { size });
    const start = 2 * TEST_CHUNKING.rangeBytes;
    // three 500s: all of the SDK's own attempts, so the BuildRange invocation itself fails once
    await setFaults([
      { op: 'GetObject', prefix: machine.disks[0].key, range: `bytes=${start}-${start + TEST_CHUNKING.rangeBytes - 1}`, times: 3 },
    ]);
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'flaky', version: '1.0.0' });
    const image = await waitForImage(login, created.body.id);
    expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
    expect(await faultHits()).toEqual([3]);
    const bytes = await download(login, created.body.id);
    expect(sha('sha256', bytes)).toBe(image.body.files[0].sha256);
    expect(gunzipSync(bytes).equals(diskBytes())).toBe(true);
  }, 300_000);

  it('counts a range retried after it had built (and reported) all its bytes once: progress work equals the disk', async () => {
    // Prepare: range 2's UploadPart (part 4) fails all of the SDK's attempts once, after the range read and reported its 16 MiB
    const size = 72 * MiB;
    const { machine, diskBytes } = await makeMachine(login, { size });
    await setFaults([{ op: 'UploadPart', prefix: 'images/', partNumber: 4, times: 3 }]);
    // Act
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'recounted', version: '1.0.0' });
    const image = await waitForImage(login, created.body.id);
    // Assert: retried, exact, and the retried range's bytes counted once
    expect(image.body.state).toBe('active');
    expect(await faultHits()).toEqual([3]);
    const job = await jobRepository().get(created.headers.get('x-joyent-jobid')!);
    expect(job).toMatchObject({ status: 'SUCCESS', work_done: size });
    expect(job).not.toHaveProperty('work_units');
    expect(gunzipSync(await download(login, created.body.id)).equals(diskBytes())).toBe(true);
  }, 300_000);

  it('leaves no object and no open multipart upload when a range fails for good', async () => {
    const size = 72 * MiB;
    const { machine } = await makeMachine(login, { size });
    const start = 3 * TEST_CHUNKING.rangeBytes;
    await setFaults([
      { op: 'GetObject', prefix: machine.disks[0].key, range: `bytes=${start}-${start + TEST_CHUNKING.rangeBytes - 1}`, times: -1 },
    ]);
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'doomed', version: '1.0.0' });
    const jobId = created.headers.get('x-joyent-jobid')!;
    const image = await waitForImage(login, created.body.id);
    expect(image.body.state).toBe('failed');
    const job = await poll(
      () => api('GET', `/${login}/jobs/${jobId}`),
      (r) => r.body?.status !== 'RUNNING',
      { intervalMs: 200, attempts: 300 },
    );
    expect(job.body.status).toBe('FAIL');
    expect((await faultHits())[0]).toBeGreaterThanOrEqual(4); // every attempt of the range failed
    expect(await leftovers(created.body.id)).toEqual({ objects: 0, uploads: 0 });
  }, 300_000);
});
