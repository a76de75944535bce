/**
 * Disk formats across the dialects over real HTTP on the embedded stack: an IMS import of a qcow2
 * file qemu-img wrote (stored as qcow2), a Triton machine provisioned from that image (its disk is the
 * source disk, read through our qcow2 reader), and IMS exports of a machine image as qcow2, vmdk, vhd
 * and zvhd (a dynamic vhd) that qemu-img checks and finds identical to the machine's disk.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../helpers/fixtures';
import { putUserObject } from '../helpers/ims-fixtures';
import { hasQemuImg, qemuImg } from '../helpers/disk-formats';
import { generateDiskBuffer } from '../helpers/disk-content';
import { machineRepository } from '../../lambdas/wiring';

type Account = Awaited<ReturnType<typeof makeAccount>>;
const ims = (token: string) => ({ headers: { 'x-auth-token': token } });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'formats-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitForJob(account: Account, token: string, jobId: string) {
  return poll(
    () => api('GET', `/v1/${account.id}/jobs/${jobId}`, undefined, ims(token)),
    (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
    { intervalMs: 200, attempts: 300 },
  );
}

const maybe = hasQemuImg ? describe : describe.skip;

maybe('disk formats over HTTP', () => {
  let alice: Account;
  let token: string;
  beforeAll(async () => {
    alice = await makeAccount('fmtit');
    token = await makeToken(alice.login);
  });

  it('imports a compressed qcow2 through IMS and provisions a Triton machine from it: the machine disk is the source disk', async () => {
    // Prepare: a disk, and qemu-img's compressed qcow2 of it in alice's bucket
    const disk = generateDiskBuffer(2 * 1024 * 1024 + 512 * 5, 17);
    const raw = path.join(dir, 'source.raw');
    const qcow = path.join(dir, 'source.qcow2');
    writeFileSync(raw, disk);
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', '-c', raw, qcow]).status).toBe(0);
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, alice.id, 'ims-image', 'disk.qcow2', readFileSync(qcow));

    // Act: import, then provision
    const res = await api(
      'POST',
      '/v2/cloudimages/action',
      { name: 'qcow2-import', image_url: 'ims-image:disk.qcow2', min_disk: 40, os_version: 'Ubuntu 22.04 64bit' },
      ims(token),
    );
    expect(res.status).toBe(200);
    const job = await waitForJob(alice, token, res.body.job_id);
    expect(job.body.status).toBe('SUCCESS');
    const imageId = job.body.entities.image_id;
    const machine = await api('POST', `/${alice.login}/machines`, { image: imageId, package: 'g1-small', name: 'from-qcow2' });

    // Assert
    expect((await api('GET', `/v2/cloudimages?id=${imageId}`, undefined, ims(token))).body.images[0]).toMatchObject({
      disk_format: 'qcow2',
      status: 'active',
    });
    expect(machine.status).toBe(201);
    // CreateMachine answers at once; the provisioning workflow reads the qcow2 and makes it running
    expect(machine.body).toMatchObject({ state: 'provisioning', image: imageId });
    const running = await poll(
      () => api('GET', `/${alice.login}/machines/${machine.body.id}`),
      (r) => r.body?.state !== 'provisioning',
    );
    expect(running.body).toMatchObject({ state: 'running', image: imageId });
    const stored = await machineRepository().get(machine.body.id);
    const object = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: stored!.disks[0].key }));
    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(disk));
  }, 120_000);

  it('exports a machine image as qcow2, vmdk, vhd and zvhd: each checked and identical to the machine disk', async () => {
    // Prepare: an image of a machine (raw, uncompressed as IMS stores it)
    const { machine, diskBytes } = await makeMachine(alice.login, { size: 3 * 1024 * 1024 + 512 * 9 });
    const source = path.join(dir, 'machine.raw');
    writeFileSync(source, diskBytes());
    const created = await api('POST', '/v2/cloudimages/action', { name: 'to-export', instance_id: machine.id }, ims(token));
    const imageId = (await waitForJob(alice, token, created.body.job_id)).body.entities.image_id;

    for (const [fileFormat, qemu] of [
      ['qcow2', 'qcow2'],
      ['vmdk', 'vmdk'],
      ['vhd', 'vpc'],
      ['zvhd', 'vpc'],
    ] as const) {
      // Act
      const exp = await api(
        'POST',
        `/v1/cloudimages/${imageId}/file`,
        { bucket_url: `exports:disk.${fileFormat}`, file_format: fileFormat },
        ims(token),
      );

      // Assert
      expect(exp.status).toBe(200);
      expect((await waitForJob(alice, token, exp.body.job_id)).body.status).toBe('SUCCESS');
      const out = await s3().send(
        new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `user-buckets/${alice.id}/exports/disk.${fileFormat}` }),
      );
      const file = path.join(dir, `export.${fileFormat}`);
      writeFileSync(file, Buffer.from(await out.Body!.transformToByteArray()));
      if (qemu !== 'vpc') expect(qemuImg(['check', '-f', qemu, file]).out).toMatch(/No errors were found/);
      expect(JSON.parse(qemuImg(['info', '--output=json', file]).out)).toMatchObject({
        format: qemu,
        'virtual-size': readFileSync(source).length,
      });
      expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, source, file]).out).toMatch(/Images are identical/);
    }
  }, 120_000);
});
