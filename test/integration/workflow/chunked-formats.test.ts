/**
 * Disk formats built by ranges on the embedded local stack (scaled down by test/helpers/global-setup.ts:
 * disks from 64 MiB build in 16 MiB ranges). A UForge generation (KVM → qcow2, Hyper-V → dynamic vhd,
 * VHD → fixed vhd, VMDK → streamOptimized vmdk, VMware Workstation → monolithicSparse vmdk) of a machine disk above the threshold runs StartRanges → BuildRange × n →
 * AssembleFile (head and tail parts from the ranges' indexes) → HashFile: the stored file passes
 * `qemu-img check` (qcow2) and `qemu-img compare` against the machine's disk, the image records its
 * format, and a range failing for good leaves nothing behind. Faults are injected only in the local S3.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { finishedExecutionOutput } from '../../helpers/executions';
import { api, poll, s3, stack, type ApiInit } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { TEST_CHUNKING } from '../../helpers/global-setup';
import { hasQemuImg, qemuImg } from '../../helpers/disk-formats';
import { applianceImageRepository } from '../../../lambdas/wiring';
import { adminOps } from '../../../local/admin-ops';
import { generateDiskBuffer } from '../../helpers/disk-content';
import { armS3Fault } from '../../helpers/s3-faults';
import * as tar from 'tar';

type Account = Awaited<ReturnType<typeof makeAccount>>;
const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const json = (init: ApiInit = {}): ApiInit => ({
  ...init,
  headers: { accept: 'application/json', 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
});
const sfn = new SFNClient({
  endpoint: stack.env.AWS_ENDPOINT_URL_SFN,
  region: stack.env.AWS_REGION,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const dir = mkdtempSync(path.join(tmpdir(), 'chunked-formats-'));

/** The final state document of the build execution of `imageId`. */
async function executionOutput(imageId: string): Promise<Record<string, any>> {
  return finishedExecutionOutput(sfn, stack.env.STATE_MACHINE_ARN, (input) => input.imageId === imageId);
}

async function leftovers(imageId: string): Promise<{ objects: string[]; uploads: number }> {
  const Bucket = stack.env.IMAGES_BUCKET;
  const Prefix = `images/${imageId}/`;
  const objects = await s3().send(new ListObjectsV2Command({ Bucket, Prefix }));
  const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
  return { objects: (objects.Contents ?? []).map((o) => o.Key!.slice(Prefix.length)), uploads: uploads.Uploads?.length ?? 0 };
}

async function download(login: string, imageId: string): Promise<Buffer> {
  const redirect = await api('GET', `/${login}/images/${imageId}/file`);
  expect(redirect.status).toBe(302);
  const res = await fetch(redirect.headers.get('location')!);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** A UForge appliance on `machineId` and one generation of it in `targetFormat`; the image's id. */
async function generate(account: Account, machineId: string, targetFormat: string, compress: boolean): Promise<string> {
  const appliance = await api(
    'POST',
    `/users/${account.login}/appliances`,
    {
      name: `big-${targetFormat.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
      version: '1.0',
      machineId,
      osProfile: { name: 'CentOS', version: '7', arch: 'x86_64' },
      installProfile: { memorySize: 1024 },
    },
    json(),
  );
  expect(appliance.status).toBe(201);
  const aid = appliance.body.uri.split('/').pop();
  const gen = await api(
    'POST',
    `/users/${account.login}/appliances/${aid}/images`,
    { targetFormat: { name: targetFormat }, compress },
    json(),
  );
  expect(gen.status).toBe(201);
  const record = await applianceImageRepository().get(gen.body.uri.split('/').pop());
  return record!.image_id;
}

const waitForImage = (login: string, id: string) =>
  poll(
    () => api('GET', `/${login}/images/${id}`),
    (r) => r.body?.state !== 'creating',
    { intervalMs: 250, attempts: 1200 },
  );

/** A machine whose disk has data, a long run of zeros (whole ranges of it) and data at its very end. */
async function mixedMachine(login: string, size: number): Promise<{ id: string; disk: Buffer; file: string }> {
  const disk = generateDiskBuffer(size, 23);
  disk.fill(0, 20 * MiB, 52 * MiB);
  disk.write('the last bytes of the disk', size - 40);
  const file = path.join(dir, `${login}-${size}.raw`);
  writeFileSync(file, disk);
  const machine = await adminOps.registerMachine({
    login,
    name: `mixed-${size}`,
    os: 'linux',
    type: 'lx-dataset',
    diskFile: file,
    state: 'stopped',
  });
  return { id: machine.id, disk, file };
}

const maybe = hasQemuImg ? describe : describe.skip;

maybe('disk formats built by ranges (chunked builds)', () => {
  let alice: Account;
  beforeAll(async () => {
    alice = await makeAccount('chfmt');
  }, 60_000);
  afterAll(() => {
    sfn.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const CASES = [
    { target: 'KVM', compress: false, format: 'qcow2', qemu: 'qcow2', check: true },
    { target: 'KVM', compress: true, format: 'qcow2', qemu: 'qcow2', check: true },
    { target: 'Hyper-V', compress: false, format: 'vhd', qemu: 'vpc', check: false },
    { target: 'VHD', compress: true, format: 'vhd', qemu: 'vpc', check: false },
    { target: 'VMDK', compress: false, format: 'vmdk', qemu: 'vmdk', check: true },
    { target: 'VMware Workstation', compress: true, format: 'vmdk', qemu: 'vmdk', check: true },
  ];

  it.each(CASES)(
    '$target (compress $compress): ≥ 4 ranges, the file passes qemu-img check/compare, the image records $format',
    async ({ target, compress, format, qemu, check }) => {
      // Prepare: 72 MiB + a few bytes (not a multiple of the cluster, block or sector)
      const size = 72 * MiB + 12345;
      const machine = await mixedMachine(alice.login, size);
      const disk = machine.disk;

      // Act
      const imageId = await generate(alice, machine.id, target, compress);
      const image = await waitForImage(alice.login, imageId);

      // Assert: the image and how it was built
      expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
      const file = image.body.files[0];
      expect(file).toMatchObject({ compression: compress ? 'gzip' : 'none' });
      const out = await executionOutput(imageId);
      expect(out.chunked.ranges).toBe(Math.ceil(disk.length / TEST_CHUNKING.rangeBytes));
      expect(out.chunked.ranges).toBeGreaterThanOrEqual(4);
      expect(out.chunked.output.format).toBe(format);
      expect(out.file).toMatchObject({
        format,
        virtualSize: Math.ceil(disk.length / 512) * 512,
        key: expect.stringContaining(`.${format}`),
      });
      expect(out.assembled.size).toBe(file.size);
      // the file: its digests, then qemu-img on it (gunzipped when compressed)
      const stored = await download(alice.login, imageId);
      expect(stored.length).toBe(file.size);
      expect(sha256(stored)).toBe(file.sha256);
      const bytes = compress ? gunzipSync(stored) : stored;
      const path1 = path.join(dir, `${imageId}.${format}`);
      writeFileSync(path1, bytes);
      if (check) {
        const result = qemuImg(['check', '-f', qemu, path1]);
        expect(result.out).toMatch(/No errors were found/);
      }
      const info = JSON.parse(qemuImg(['info', '--output=json', '-f', qemu, path1]).out);
      expect(info).toMatchObject({ format: qemu, 'virtual-size': Math.ceil(disk.length / 512) * 512 });
      expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, machine.file, path1]).out).toMatch(/Images are identical/);
      // nothing but the file: the ranges' indexes were removed after assembly
      expect(await leftovers(imageId)).toEqual({ objects: [`file.${format}${compress ? '.gz' : ''}`], uploads: 0 });
    },
    300_000,
  );

  it('OVF (ova, not compressed): the vmdk by ranges, hashed, the tar composed around it by S3 copies, then hashed: .ovf first, the .mf matches, the vmdk passes qemu-img', async () => {
    // Prepare: zeros, text and random bytes, 100 MiB + a few bytes (not a multiple of a 64 KiB grain):
    // a vmdk over the 32 MiB a ComposeOva call writes (TEST_CHUNKING.hashBytesPerInvocation)
    const size = 100 * MiB + 12345;
    const machine = await mixedMachine(alice.login, size);

    // Act
    const imageId = await generate(alice, machine.id, 'OVF', false);
    const image = await waitForImage(alice.login, imageId);

    // Assert: built by ranges, the vmdk composed into the ova in several parts, the ova hashed and recorded
    expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
    const file = image.body.files[0];
    expect(file).toMatchObject({ compression: 'none' });
    const out = await executionOutput(imageId);
    expect(out.chunked.ranges).toBeGreaterThanOrEqual(4);
    expect(out.chunked).toMatchObject({ output: { format: 'ova' }, key: `images/${imageId}/.ova/disk.vmdk` });
    // part 1 and the last uploaded, the vmdk's middle copied in 5 MiB parts (TEST_COPY)
    expect(out.composed).toMatchObject({ done: true, key: `images/${imageId}/file.ova`, size: file.size });
    expect(out.composed.parts).toBeGreaterThanOrEqual(4);
    expect(out.assembled.size).toBeGreaterThan(TEST_CHUNKING.hashBytesPerInvocation);
    expect(out.composed.invocations).toBeGreaterThanOrEqual(2);
    expect(out.file).toMatchObject({ format: 'ova', key: `images/${imageId}/file.ova`, size: file.size });
    expect(out.file.virtualSize).toBe(Math.ceil(size / 512) * 512);
    const stored = await download(alice.login, imageId);
    expect(stored.length).toBe(file.size);
    expect(sha256(stored)).toBe(file.sha256);
    // the tar: .ovf first, then the vmdk, then the manifest; each SHA256 line matches its file
    const ovaFile = path.join(dir, `${imageId}.ova`);
    writeFileSync(ovaFile, stored);
    const names: string[] = [];
    tar.t({ file: ovaFile, sync: true, onReadEntry: (entry) => names.push(entry.path) });
    expect(names).toHaveLength(3);
    expect(names[0]).toMatch(/\.ovf$/);
    expect(names[1]).toMatch(/-disk1\.vmdk$/);
    expect(names[2]).toMatch(/\.mf$/);
    const outDir = path.join(dir, imageId);
    mkdirSync(outDir);
    tar.x({ file: ovaFile, cwd: outDir, sync: true });
    const manifest = readFileSync(path.join(outDir, names[2]), 'utf8');
    expect(manifest.trim().split('\n')).toEqual(
      names.slice(0, 2).map((name) => `SHA256(${name})= ${sha256(readFileSync(path.join(outDir, name)))}`),
    );
    expect(out.composed.vmdkSha256).toBe(sha256(readFileSync(path.join(outDir, names[1]))));
    const vmdk = path.join(outDir, names[1]);
    expect(qemuImg(['check', '-f', 'vmdk', vmdk]).out).toMatch(/No errors were found/);
    expect(qemuImg(['compare', '-f', 'raw', '-F', 'vmdk', machine.file, vmdk]).out).toMatch(/Images are identical/);
    expect(readFileSync(path.join(outDir, names[0]), 'utf8')).toContain(`ovf:href="${names[1]}"`);
    // nothing but the ova: the vmdk, the ranges' indexes and both uploads are gone
    expect(await leftovers(imageId)).toEqual({ objects: ['file.ova'], uploads: 0 });
  }, 300_000);

  it('an ova whose composition fails for a while is retried: each part is copied once, the ova is whole, nothing else is left', async () => {
    // Prepare
    const machine = await mixedMachine(alice.login, 72 * MiB + 1024);

    // Act: after two part copies, the next three copies fail (more than the SDK's own attempts: the task is retried)
    const imageId = await generate(alice, machine.id, 'OVF', false);
    const disarm = await armS3Fault({ op: 'UploadPartCopy', prefix: `images/${imageId}/file.ova`, skip: 2, times: 3 });
    try {
      const image = await waitForImage(alice.login, imageId);

      // Assert
      expect({ state: image.body.state, error: image.body.error }).toEqual({ state: 'active', error: undefined });
      // every part copied once: the copies that went through before the failure were not made again
      const out = await executionOutput(imageId);
      expect(out.composed.parts).toBeGreaterThan(4);
      expect(await disarm.seen()).toBe(out.composed.parts - 2 + 3);
      const stored = await download(alice.login, imageId);
      expect(sha256(stored)).toBe(image.body.files[0].sha256);
      const ovaFile = path.join(dir, `${imageId}.ova`);
      writeFileSync(ovaFile, stored);
      const outDir = path.join(dir, imageId);
      mkdirSync(outDir);
      tar.x({ file: ovaFile, cwd: outDir, sync: true });
      const vmdk = path.join(outDir, 'big-ovf-disk1.vmdk');
      expect(qemuImg(['compare', '-f', 'raw', '-F', 'vmdk', machine.file, vmdk]).out).toMatch(/Images are identical/);
      expect(await leftovers(imageId)).toEqual({ objects: ['file.ova'], uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);

  it('an ova whose composition fails for good after a part is copied leaves no ova, no vmdk and no open upload', async () => {
    // Prepare: a vmdk of several parts (random bytes do not compress)
    const machine = await mixedMachine(alice.login, 72 * MiB + 512);

    // Act: every part copy of this image's ova fails after the first one (armed while its ranges are built)
    const imageId = await generate(alice, machine.id, 'OVF', false);
    // 403 AccessDenied: the SDK does not retry it, the task's Retry does (the local stack's handlers share
    // one S3 client, whose retry quota endless 500s would drain for other test files)
    const disarm = await armS3Fault({
      op: 'UploadPartCopy',
      prefix: `images/${imageId}/file.ova`,
      skip: 1,
      times: -1,
      status: 403,
      code: 'AccessDenied',
    });
    try {
      const image = await waitForImage(alice.login, imageId);

      // Assert: failed in the composition (copies refused), and nothing left behind
      expect(image.body.state).toBe('failed');
      expect(image.body.error).toMatchObject({ code: 'TransientStorageError', message: expect.stringContaining('file.ova') });
      expect(image.body.error.message).toContain('AccessDenied');
      expect(await disarm.seen()).toBeGreaterThan(1);
      expect(await leftovers(imageId)).toEqual({ objects: [], uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);

  it('a qcow2 build whose range fails for good leaves no object, no index and no open upload', async () => {
    const { machine } = await makeMachine(alice.login, { size: 72 * MiB });
    const start = 3 * TEST_CHUNKING.rangeBytes;
    // only this file's rule (test files running at once each arm and disarm their own: s3-faults.ts)
    const disarm = await armS3Fault({
      op: 'GetObject',
      prefix: machine.disks[0].key,
      range: `bytes=${start}-${start + TEST_CHUNKING.rangeBytes - 1}`,
      times: -1,
    });
    try {
      const imageId = await generate(alice, machine.id, 'KVM', false);
      const image = await waitForImage(alice.login, imageId);
      expect(image.body.state).toBe('failed');
      // ranges still running when the Map failed finish after Cleanup: their UploadPart finds the upload
      // aborted and they delete the index they had just written (build-range.ts), so wait for them
      const left = await poll(
        () => leftovers(imageId),
        (l) => l.objects.length === 0 && l.uploads === 0,
        { intervalMs: 500, attempts: 120 },
      );
      expect(left).toEqual({ objects: [], uploads: 0 });
    } finally {
      await disarm();
    }
  }, 300_000);
});
