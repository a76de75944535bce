/**
 * Large clones and IMS exports run in the build workflow (lambdas/workflow/copy.ts), not the request.
 * The local stack scales the threshold down (test/helpers/global-setup.ts: files from 20 MiB; multipart
 * copies of 5 MiB parts above 1 MiB), so a 24 MiB uncompressed image takes that path here:
 * - a Triton clone answers `creating` with `x-joyent-jobid`; the workflow makes it `active` with a
 *   byte-identical file, and the job SUCCESS;
 * - an IMS export answers a job that the workflow ends SUCCESS, as a byte copy or a qcow2 conversion
 *   (qemu-img finds it identical to the disk);
 * - a copy that fails for good leaves the clone `failed` / the export job FAIL, and no object and no
 *   open multipart upload behind (faults injected in the local S3 only, local/faults.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';
import { hasQemuImg, qemuImg } from '../../helpers/disk-formats';
import { TEST_COPY } from '../../helpers/global-setup';

jest.setTimeout(180_000);

const MiB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const ims = (token: string) => ({ headers: { 'x-auth-token': token } });
const sfn = new SFNClient({
  endpoint: stack.env.AWS_ENDPOINT_URL_SFN,
  region: stack.env.AWS_REGION,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const dir = mkdtempSync(path.join(tmpdir(), 'copy-wf-it-'));
afterAll(() => {
  sfn.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const bytesOf = async (key: string) =>
  Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: key }))).Body!.transformToByteArray());
const underPrefix = async (Prefix: string) => ({
  objects: ((await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!),
  uploads: ((await s3().send(new ListMultipartUploadsCommand({ Bucket: stack.env.IMAGES_BUCKET, Prefix }))).Uploads ?? []).map(
    (u) => u.Key!,
  ),
});
/**
 * The build state machine's execution for this job (named after it), with how it ended: the job ends in
 * the execution's last Task, a moment before the execution does, so this waits for the end.
 */
async function executionOf(jobId: string): Promise<{ status?: string; executionArn?: string } | undefined> {
  return poll(
    async () => {
      const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.env.STATE_MACHINE_ARN, maxResults: 1000 }));
      return list.executions?.find((e) => e.name === jobId);
    },
    (e) => e !== undefined && e.status !== 'RUNNING',
    { intervalMs: 100, attempts: 300 },
  );
}
/** The final state document of that execution. */
async function outputOf(jobId: string): Promise<Record<string, any>> {
  const e = await executionOf(jobId);
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e!.executionArn }));
  return JSON.parse(d.output ?? 'null') ?? {};
}
const waitForTritonJob = (login: string, jobId: string) =>
  poll(
    () => api('GET', `/${login}/jobs/${jobId}`),
    (r) => ['SUCCESS', 'FAIL', 'CANCELLED'].includes(r.body?.status),
    { intervalMs: 200, attempts: 600 },
  );

describe('large clones and exports run in the workflow', () => {
  let owner: Awaited<ReturnType<typeof makeAccount>>;
  let token: string;
  let imageId: string;
  let fileKey: string;
  let disk: Buffer;
  beforeAll(async () => {
    owner = await makeAccount('cpwf');
    token = await makeToken(owner.login);
    // 24 MiB uncompressed: above the 20 MiB threshold, five multipart-copy parts
    const { machine, diskBytes } = await makeMachine(owner.login, { size: 24 * MiB + 512 * 7 });
    disk = diskBytes();
    expect(disk.length).toBeGreaterThanOrEqual(TEST_COPY.workflowThresholdBytes);
    const created = await api('POST', `/${owner.login}/images`, { machine: machine.id, name: 'large', version: '1', compression: 'none' });
    const done = await poll(
      () => api('GET', `/${owner.login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 200, attempts: 600 },
    );
    expect(done.body.state).toBe('active');
    imageId = created.body.id;
    fileKey = (await underPrefix(`images/${imageId}/`)).objects[0];
  });

  it('clone: answers the clone `creating` with its job; the workflow makes it active with a byte-identical file', async () => {
    // Prepare
    const friend = await makeAccount('cpwff');
    await api('POST', `/${owner.login}/images/${imageId}?action=update`, { acl: [friend.id] });
    const parts = await armS3Fault({ op: 'UploadPartCopy', copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`, times: 0 });
    try {
      // Act
      const res = await api('POST', `/${friend.login}/images/${imageId}?action=clone`);

      // Assert: answered before the copy, with the job to follow
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ owner: friend.id, state: 'creating' });
      const jobId = res.headers.get('x-joyent-jobid')!;
      expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
      const job = await waitForTritonJob(friend.login, jobId);
      expect(job.body).toMatchObject({ status: 'SUCCESS', progress: 100 });
      expect(await executionOf(jobId)).toMatchObject({ status: 'SUCCEEDED' });
      const clone = await api('GET', `/${friend.login}/images/${res.body.id}`);
      expect(clone.body).toMatchObject({ state: 'active', owner: friend.id });
      expect(await parts.seen()).toBe(5);
      // a checkpointed loop (lambdas/workflow/copy-loop.ts): the parts in one call, the read-back check in the next
      expect((await outputOf(jobId)).copied).toMatchObject({ done: true, phase: 'verify', invocations: 2, offset: disk.length });
      const copied = await underPrefix(`images/${res.body.id}/`);
      expect(copied.uploads).toEqual([]);
      expect(copied.objects).toHaveLength(1);
      expect(sha256(await bytesOf(copied.objects[0]))).toBe(sha256(disk));
    } finally {
      await parts();
    }
  });

  it('clone: a copy that fails for good leaves the clone failed, its job FAIL, no object and no open upload', async () => {
    // Prepare
    const friend = await makeAccount('cpwfg');
    await api('POST', `/${owner.login}/images/${imageId}?action=update`, { acl: [friend.id] });
    const fault = await armS3Fault({
      op: 'UploadPartCopy',
      copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`,
      minPartNumber: 3,
      times: -1,
    });
    let cloneId = '';
    try {
      // Act
      const res = await api('POST', `/${friend.login}/images/${imageId}?action=clone`);
      expect(res.status).toBe(200);
      cloneId = res.body.id;
      const job = await waitForTritonJob(friend.login, res.headers.get('x-joyent-jobid')!);

      // Assert
      expect(job.body.status).toBe('FAIL');
      // each of the task's attempts (Retry) failed at part 3
      expect(await fault.seen()).toBeGreaterThanOrEqual(3);
    } finally {
      await fault();
    }
    const clone = await api('GET', `/${friend.login}/images/${cloneId}`);
    expect(clone.body).toMatchObject({ state: 'failed' });
    expect(await underPrefix(`images/${cloneId}/`)).toEqual({ objects: [], uploads: [] });
    // the source image is untouched
    expect(sha256(await bytesOf(fileKey))).toBe(sha256(disk));
  });

  const waitForImsJob = (jobId: string) =>
    poll(
      () => api('GET', `/v1/${owner.id}/jobs/${jobId}`, undefined, ims(token)),
      (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
      { intervalMs: 200, attempts: 600 },
    );

  it('IMS export (byte copy): the job ends SUCCESS in the workflow; the exported file is the disk', async () => {
    // Act
    const exp = await api('POST', `/v1/cloudimages/${imageId}/file`, { bucket_url: 'exports:large.raw', file_format: 'raw' }, ims(token));

    // Assert
    expect(exp.status).toBe(200);
    expect((await waitForImsJob(exp.body.job_id)).body.status).toBe('SUCCESS');
    expect(await executionOf(exp.body.job_id)).toMatchObject({ status: 'SUCCEEDED' });
    const key = `user-buckets/${owner.id}/exports/large.raw`;
    expect(sha256(await bytesOf(key))).toBe(sha256(disk));
    expect((await underPrefix(key)).uploads).toEqual([]);
  });

  (hasQemuImg ? it : it.skip)('IMS export (qcow2 conversion) in the workflow: qemu-img finds it identical to the disk', async () => {
    // Act
    const exp = await api(
      'POST',
      `/v1/cloudimages/${imageId}/file`,
      { bucket_url: 'exports:large.qcow2', file_format: 'qcow2' },
      ims(token),
    );

    // Assert
    expect(exp.status).toBe(200);
    expect((await waitForImsJob(exp.body.job_id)).body.status).toBe('SUCCESS');
    expect(await executionOf(exp.body.job_id)).toMatchObject({ status: 'SUCCEEDED' });
    const source = path.join(dir, 'disk.raw');
    const file = path.join(dir, 'export.qcow2');
    writeFileSync(source, disk);
    writeFileSync(file, await bytesOf(`user-buckets/${owner.id}/exports/large.qcow2`));
    expect(qemuImg(['check', '-f', 'qcow2', file]).out).toMatch(/No errors were found/);
    expect(qemuImg(['compare', '-f', 'raw', '-F', 'qcow2', source, file]).out).toMatch(/Images are identical/);
  });

  it('IMS export: a copy that fails for good ends the job FAIL with no object and no open upload at the destination; the image stays active', async () => {
    // Prepare
    const fault = await armS3Fault({
      op: 'UploadPartCopy',
      copySourcePrefix: `${stack.env.IMAGES_BUCKET}/${fileKey}`,
      minPartNumber: 2,
      times: -1,
    });
    try {
      // Act
      const exp = await api(
        'POST',
        `/v1/cloudimages/${imageId}/file`,
        { bucket_url: 'exports:broken.raw', file_format: 'raw' },
        ims(token),
      );

      // Assert
      expect(exp.status).toBe(200);
      const job = await waitForImsJob(exp.body.job_id);
      expect(job.body.status).toBe('FAIL');
      expect(await executionOf(exp.body.job_id)).toMatchObject({ status: 'FAILED' });
    } finally {
      await fault();
    }
    expect(await underPrefix(`user-buckets/${owner.id}/exports/broken.raw`)).toEqual({ objects: [], uploads: [] });
    const image = await api('GET', `/${owner.login}/images/${imageId}`);
    expect(image.body.state).toBe('active');
    expect(await underPrefix(`images/${imageId}/`)).toEqual({ objects: [fileKey], uploads: [] });
  });
});
