/**
 * Provisioning from qcow2, vhd and vmdk images in ranges on the embedded local stack (scaled down by
 * test/helpers/global-setup.ts: disks from 64 MiB expand in 16 MiB ranges). Images imported through
 * IMS from files qemu-img wrote are stored as they are (uncompressed qcow2/vhd/vmdk); a machine made
 * from one has its disk expanded range by range through the format's reader (lambdas/workflow/expansion.ts,
 * DiskReader.streamRange) into one multipart upload of the disk, equal to the source disk byte for
 * byte. A qcow2 whose L1 table points past the end of the file fails the machine with the reason,
 * leaving no disk and no open upload.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { finishedExecutionOutput } from '../../helpers/executions';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeToken } from '../../helpers/fixtures';
import { putUserObject } from '../../helpers/ims-fixtures';
import { armS3Fault } from '../../helpers/s3-faults';
import { diskLeftovers } from '../../helpers/leftovers';
import { hasQemuImg, qemuImg } from '../../helpers/disk-formats';
import { generateDiskBuffer } from '../../helpers/disk-content';
import { TEST_CHUNKING } from '../../helpers/global-setup';
import { imageRepository } from '../../../lambdas/wiring';

const MiB = 1024 * 1024;
type Account = Awaited<ReturnType<typeof makeAccount>>;
const ims = (token: string) => ({ headers: { 'x-auth-token': token } });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'format-expansion-'));
const sfn = new SFNClient({
  endpoint: stack.env.AWS_ENDPOINT_URL_SFN,
  region: stack.env.AWS_REGION,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  sfn.destroy();
});

/**
 * 72 MiB + 1.5 KiB (five ranges of 16 MiB, the last one short; not a whole number of 64 KiB clusters
 * or 2 MiB vhd blocks): zeros but for data at its start, across the boundary of ranges 0 and 1, in
 * the middle, across the chunking threshold and at its very end.
 */
function sourceDisk(): Buffer {
  const disk = Buffer.alloc(72 * MiB + 1536);
  randomFillSync(disk, 0, MiB);
  generateDiskBuffer(600 * 1024, 3).copy(disk, 16 * MiB - 300 * 1024);
  generateDiskBuffer(2 * MiB, 5).copy(disk, 40 * MiB + 4096);
  randomFillSync(disk, 64 * MiB - 512 * 1024, MiB);
  disk.write('the last bytes of the disk', disk.length - 30);
  return disk;
}

const provisionOutput = (machineId: string) =>
  finishedExecutionOutput(sfn, stack.env.PROVISION_STATE_MACHINE_ARN, (input) => input.machineId === machineId);

const maybe = hasQemuImg ? describe : describe.skip;

maybe('provisioning from qcow2, vhd and vmdk images in ranges', () => {
  let alice: Account;
  let token: string;
  const disk = sourceDisk();
  const rawPath = path.join(dir, 'source.raw');

  beforeAll(async () => {
    alice = await makeAccount('fexp');
    token = await makeToken(alice.login);
    writeFileSync(rawPath, disk);
  });

  /** Imports `bytes` through IMS (stored as they are); returns the image id. */
  async function importImage(name: string, bytes: Buffer): Promise<string> {
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, alice.id, 'fexp-images', name, bytes);
    const res = await api(
      'POST',
      '/v2/cloudimages/action',
      { name, image_url: `fexp-images:${name}`, min_disk: 40, os_version: 'Ubuntu 22.04 64bit' },
      ims(token),
    );
    expect(res.status).toBe(200);
    const job = await poll(
      () => api('GET', `/v1/${alice.id}/jobs/${res.body.job_id}`, undefined, ims(token)),
      (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
      { intervalMs: 250, attempts: 1200 },
    );
    expect({ status: job.body.status, reason: job.body.fail_reason }).toEqual({ status: 'SUCCESS', reason: null });
    return job.body.entities.image_id as string;
  }

  async function provision(imageId: string, name: string) {
    const res = await api('POST', `/${alice.login}/machines`, { image: imageId, package: 'g1-small', name });
    expect([res.status, res.body.state]).toEqual([201, 'provisioning']);
    const done = await poll(
      () => api('GET', `/${alice.login}/machines/${res.body.id}`),
      (r) => r.body?.state !== 'provisioning',
      { intervalMs: 250, attempts: 1200 },
    );
    return { id: res.body.id as string, body: done.body };
  }

  it.each([
    { label: 'qcow2', args: ['-O', 'qcow2'], format: 'qcow2' },
    { label: 'vhd dynamic', args: ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'], format: 'vhd' },
    { label: 'vmdk monolithicSparse', args: ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'], format: 'vmdk' },
    { label: 'vmdk streamOptimized', args: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], format: 'vmdk' },
  ])(
    'a machine from a $label image: its disk is expanded in ranges through the reader and equals the source disk',
    async ({ label, args, format }) => {
      // Prepare: qemu-img's file of the disk, imported as it is
      const file = path.join(dir, `disk.${label.replace(/\W+/g, '-')}`);
      expect(qemuImg(['convert', '-f', 'raw', ...args, rawPath, file]).status).toBe(0);
      const imageId = await importImage(`${label.replace(/\W+/g, '-')}.img`, readFileSync(file));
      const stored = (await imageRepository().get(imageId))!.files[0]!;
      expect(stored).toMatchObject({ format, compression: 'none', virtualSize: disk.length });

      // Act
      const machine = await provision(imageId, `from-${label.replace(/\W+/g, '-')}`);

      // Assess: running, from five ranges of 16 MiB (each its own ExpandRange, one part each), byte for byte
      expect({ state: machine.body.state, error: machine.body.error }).toEqual({ state: 'running', error: undefined });
      const out = await provisionOutput(machine.id);
      const ranges = Math.ceil(disk.length / TEST_CHUNKING.rangeBytes);
      expect(out.expansion).toMatchObject({ ranges, rangeBytes: TEST_CHUNKING.rangeBytes, rawSize: disk.length });
      expect(out.expanded).toEqual({ size: disk.length });
      // $.expansion is StartExpansion's: the ExpandRanges Map, then CompleteDisk, made $.expanded (ExpandImage sets no $.expansion)
      const key = out.disk.key as string;
      const object = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(bytes.length).toBe(disk.length);
      expect(sha256(bytes)).toBe(sha256(disk));
      expect(await diskLeftovers(machine.id)).toEqual({ objects: 1, uploads: 0 });
    },
    300_000,
  );

  it('a machine from a qcow2 file above the threshold, imported in ranges with a range index of its file: expanded through the reader, not the index', async () => {
    // Prepare: a disk of random bytes, so its qcow2 file is above the threshold too and is imported in ranges
    const dense = randomFillSync(Buffer.alloc(66 * MiB + 512));
    const raw = path.join(dir, 'dense.raw');
    const file = path.join(dir, 'dense.qcow2');
    writeFileSync(raw, dense);
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', raw, file]).status).toBe(0);
    const imageId = await importImage('dense.qcow2', readFileSync(file));
    const stored = (await imageRepository().get(imageId))!.files[0]!;
    expect(stored.size).toBeGreaterThanOrEqual(TEST_CHUNKING.thresholdBytes);
    expect(stored).toMatchObject({ format: 'qcow2', compression: 'none', virtualSize: dense.length, rangeIndex: { rawSize: stored.size } });

    // Act
    const machine = await provision(imageId, 'from-dense-qcow2');

    // Assess: the disk's ranges, not the file's; the disk is the source disk
    expect({ state: machine.body.state, error: machine.body.error }).toEqual({ state: 'running', error: undefined });
    const out = await provisionOutput(machine.id);
    expect(out.expansion).toMatchObject({ rawSize: dense.length, rangeBytes: TEST_CHUNKING.rangeBytes, ranges: 5 });
    const object = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: out.disk.key }));
    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(dense));
    expect(await diskLeftovers(machine.id)).toEqual({ objects: 1, uploads: 0 });
  }, 300_000);

  it('retries a range whose part upload failed, alone, and still makes the exact disk', async () => {
    // Prepare: a vhd of the disk; the disk's part 3 (range 2) fails every SDK attempt once, so that ExpandRange fails and is retried
    const file = path.join(dir, 'flaky.vhd');
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', rawPath, file]).status).toBe(0);
    const imageId = await importImage('flaky.vhd', readFileSync(file));
    const disarm = await armS3Fault(
      { op: 'UploadPart', bucket: stack.env.DISKS_BUCKET, partNumber: 3, times: 3 },
      { op: 'UploadPart', bucket: stack.env.DISKS_BUCKET, partNumber: 1, times: 0 }, // counts range 0's uploads
    );
    try {
      // Act
      const machine = await provision(imageId, 'from-flaky-vhd');

      // Assess: range 2 uploaded on its second invocation, range 0 once
      expect({ state: machine.body.state, error: machine.body.error }).toEqual({ state: 'running', error: undefined });
      expect(await disarm.seen()).toBe(4 + 1);
      const out = await provisionOutput(machine.id);
      const object = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: out.disk.key }));
      expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(disk));
      expect(await diskLeftovers(machine.id)).toEqual({ objects: 1, uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);

  it('fails the machine as corrupt, leaving nothing, when the stored qcow2 declares another disk size than its manifest (changed in place)', async () => {
    // Prepare: an imported qcow2 whose stored header is then changed in place (same file size: the size check passes)
    const file = path.join(dir, 'resized.qcow2');
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', rawPath, file]).status).toBe(0);
    const imageId = await importImage('resized.qcow2', readFileSync(file));
    const stored = (await imageRepository().get(imageId))!.files[0]!;
    const bytes = readFileSync(file);
    bytes.writeBigUInt64BE(BigInt(disk.length + 8 * MiB), 24);
    await s3().send(new PutObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: stored.key, Body: bytes }));

    // Act
    const machine = await provision(imageId, 'from-resized-qcow2');

    // Assess
    expect(machine.body).toMatchObject({
      state: 'failed',
      disks: [],
      error: {
        code: 'ImageFileCorruptError',
        message: `the image file ${stored.key} describes a disk of ${disk.length + 8 * MiB} bytes, its manifest ${disk.length}`,
      },
    });
    expect(await diskLeftovers(machine.id)).toEqual({ objects: 0, uploads: 0 });
  }, 300_000);

  it('fails the machine as corrupt, leaving nothing, when a data cluster of the stored qcow2 changed in place (its sha256 no longer matches)', async () => {
    // Prepare: an imported qcow2 (two VerifyImageFile calls' worth: larger than hashBytesPerInvocation) whose
    // last byte of data changes in storage: same size, same tables, a disk that reads fine
    const dense = Buffer.concat([randomFillSync(Buffer.alloc(40 * MiB)), Buffer.alloc(30 * MiB)]);
    const raw = path.join(dir, 'tampered.raw');
    const file = path.join(dir, 'tampered.qcow2');
    writeFileSync(raw, dense);
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', raw, file]).status).toBe(0);
    const imageId = await importImage('tampered.qcow2', readFileSync(file));
    const stored = (await imageRepository().get(imageId))!.files[0]!;
    expect(stored.size).toBeGreaterThan(TEST_CHUNKING.hashBytesPerInvocation);
    const bytes = readFileSync(file);
    const at = bytes.lastIndexOf(dense.subarray(40 * MiB - 64, 40 * MiB)) + 63;
    expect(at).toBeGreaterThan(0);
    bytes[at] ^= 0xff;
    await s3().send(new PutObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: stored.key, Body: bytes }));

    // Act
    const machine = await provision(imageId, 'from-tampered-qcow2');

    // Assess
    expect(machine.body).toMatchObject({
      state: 'failed',
      disks: [],
      error: { code: 'ImageFileCorruptError', message: `the image file ${stored.key} does not match its manifest's sha256` },
    });
    expect(await diskLeftovers(machine.id)).toEqual({ objects: 0, uploads: 0 });
  }, 300_000);

  it('fails the machine with the reason, leaving no disk and no open upload, when a qcow2 L1 entry points past the end of the file', async () => {
    // Prepare: qemu-img's qcow2 of the disk with its first L2 table's offset moved past the end of the file
    const file = path.join(dir, 'corrupt.qcow2');
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', rawPath, file]).status).toBe(0);
    const bytes = readFileSync(file);
    const l1 = Number(bytes.readBigUInt64BE(40));
    const badL2 = Math.ceil((bytes.length + 1) / 65536) * 65536 + 65536;
    bytes.writeBigUInt64BE((1n << 63n) | BigInt(badL2), l1);
    const imageId = await importImage('corrupt.qcow2', bytes);

    // Act
    const machine = await provision(imageId, 'from-corrupt-qcow2');

    // Assess
    expect(machine.body).toMatchObject({
      state: 'failed',
      disks: [],
      error: {
        code: 'SourceFormatError',
        // an ExpandRange's reason (StartExpansion reads only the header and the L1 table)
        message: expect.stringMatching(
          new RegExp(`^range \\d of the image file \\S+ cannot be read as qcow2: qcow2: L2 table 0 at ${badL2} lies outside the file`),
        ),
      },
    });
    expect(await diskLeftovers(machine.id)).toEqual({ objects: 0, uploads: 0 });
  }, 300_000);
});
