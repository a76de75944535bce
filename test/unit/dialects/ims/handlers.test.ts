/**
 * The IMS handlers against the real embedded stack (dynalite, s3rver, the Step Functions endpoint
 * running the synthesized workflow), started in-process. Each handler is invoked with a hand-built
 * API Gateway proxy event carrying the authorizer context `{accountId, login, roles}`, as the
 * gateway builds it after authentication — so these run whatever the authentication scheme.
 * test/integration/ims/ covers the same routes over real HTTP with authenticated clients.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { startLocalStack, type LocalStack } from '../../../../local/stack';
import { localS3Client } from '../../../../local/s3';
import { handlers } from '../../../../local/handlers';
import { adminOps } from '../../../../local/admin-ops';
import { disposeClients, machineRepository } from '../../../../lambdas/wiring';
import type { Account } from '../../../../lambdas/core/account';
import type { Machine } from '../../../../lambdas/core/machine';
import { writeDiskFile } from '../../../helpers/disk-content';
import { hasQemuImg, qemuImg } from '../../../helpers/disk-formats';
import { GiB, addDataDisks, iso, notADisk, putUserObject, qcow2, vhdFixed, vmdkSparse } from '../../../helpers/ims-fixtures';

jest.setTimeout(60_000);

let stack: LocalStack;
let s3: S3Client;
const dir = mkdtempSync(path.join(tmpdir(), 'ims-handlers-'));

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data'), retryIntervalMs: 20 });
  s3 = localS3Client(stack.endpoints.s3);
}, 120_000);

afterAll(async () => {
  await stack?.waitForIdle();
  s3?.destroy();
  disposeClients();
  await stack?.close();
});

interface Call {
  status: number;
  body: any;
  headers: Record<string, string>;
}

async function call(
  entry: string,
  account: Account,
  opts: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
): Promise<Call> {
  const event = {
    body: opts.body === undefined ? null : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    isBase64Encoded: false,
    headers: { 'content-type': 'application/json' },
    pathParameters: opts.params ?? null,
    queryStringParameters: opts.query ?? null,
    requestContext: { requestId: 'test', authorizer: { accountId: account.id, login: account.login, roles: '' } },
  } as unknown as APIGatewayProxyEvent;
  const res = await handlers[`dialects/ims/handlers/${entry}.ts`]()(event, { awsRequestId: 'test-request' });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

const create = (account: Account, body: unknown) => call('create-image', account, { body });
const showJob = (account: Account, jobId: string) => call('show-job', account, { params: { project_id: account.id, job_id: jobId } });

async function waitForJob(account: Account, jobId: string): Promise<Call> {
  for (let i = 0; i < 200; i++) {
    const res = await showJob(account, jobId);
    if (res.body?.status === 'SUCCESS' || res.body?.status === 'FAIL') return res;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} did not finish`);
}

let n = 0;
async function account(): Promise<Account> {
  return adminOps.createAccount(`ims${Date.now().toString(36)}${++n}`) as Promise<Account>;
}

async function machine(owner: Account, opts: { state?: 'stopped' | 'running'; dataDisks?: number[] } = {}): Promise<Machine> {
  const file = path.join(dir, `disk-${++n}.raw`);
  await writeDiskFile(file, 64 * 1024 + n, n);
  const m = await adminOps.registerMachine({
    login: owner.login,
    name: `m${n}`,
    os: 'linux',
    type: 'zvol',
    diskFile: file,
    state: opts.state ?? 'stopped',
  });
  if (!opts.dataDisks?.length) return m;
  return addDataDisks(
    {
      s3,
      disksBucket: stack.env.DISKS_BUCKET,
      update: (id, disks) => machineRepository().update(id, { states: ['stopped', 'running'] }, { disks }),
    },
    m,
    opts.dataDisks,
  );
}

describe('ImsCreateImage from a machine', () => {
  it('answers 200 {job_id}; the job goes INIT/RUNNING → SUCCESS with the image id and name', async () => {
    const alice = await account();
    const m = await machine(alice);
    const res = await create(alice, { name: 'ims_test', description: 'from an ECS', instance_id: m.id, tags: ['aaa.111', 'bbb.333'] });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['job_id']);
    const first = await showJob(alice, res.body.job_id);
    expect(['INIT', 'RUNNING', 'SUCCESS']).toContain(first.body.status);
    const job = await waitForJob(alice, res.body.job_id);
    expect(job.body).toMatchObject({
      job_id: res.body.job_id,
      job_type: 'imsCreateImageByInstance',
      status: 'SUCCESS',
      error_code: null,
      fail_reason: null,
      entities: { image_name: 'ims_test' },
    });
    expect(job.body.entities.image_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.body.begin_time).toBeTruthy();
    expect(job.body.end_time).toBeTruthy();

    const progress = await call('show-job-progress', alice, { params: { job_id: res.body.job_id } });
    expect(progress.body.entities).toMatchObject({ process_percent: 1, image_id: job.body.entities.image_id });
    expect(typeof progress.body.entities.current_task).toBe('string');

    const list = await call('list-images', alice, { query: { name: 'ims_test' } });
    expect(list.status).toBe(200);
    expect(list.body.images).toHaveLength(1);
    expect(list.body.images[0]).toMatchObject({
      id: job.body.entities.image_id,
      status: 'active',
      __imagetype: 'private',
      visibility: 'private',
      disk_format: 'raw',
      __description: 'from an ECS',
      __os_type: 'Linux',
    });
    expect(list.body.images[0].tags.sort()).toEqual(['aaa.111', 'bbb.333']);
  });

  it('builds a system image and a data-disk image per listed disk in one job (sub_jobs_result)', async () => {
    const alice = await account();
    const m = await machine(alice, { dataDisks: [4096, 8192] });
    const [, d1, d2] = m.disks;
    const res = await create(alice, {
      name: 'sys',
      instance_id: m.id,
      data_images: [
        { name: 'data-1', volume_id: d1.id, description: 'first' },
        { name: 'data-2', volume_id: d2.id, tags: ['k.v'] },
      ],
    });
    expect(res.status).toBe(200);
    const job = await waitForJob(alice, res.body.job_id);
    expect(job.body.status).toBe('SUCCESS');
    expect(job.body.entities.sub_jobs_result).toHaveLength(2);
    expect(job.body.entities.sub_jobs_result.map((s: any) => [s.status, s.entities.image_name])).toEqual([
      ['SUCCESS', 'data-1'],
      ['SUCCESS', 'data-2'],
    ]);
    const list = await call('list-images', alice, { query: { limit: '10' } });
    const byName = Object.fromEntries(list.body.images.map((i: any) => [i.name, i]));
    expect(byName['data-1'].virtual_env_type).toBe('DataImage');
    expect(byName['data-2'].size).toBe(8192);
  });

  it("makes data-disk images from data_images alone (volumes of the caller's machines)", async () => {
    const alice = await account();
    const m = await machine(alice, { dataDisks: [4096] });
    const res = await create(alice, { data_images: [{ name: 'only-data', volume_id: m.disks[1].id }] });
    expect(res.status).toBe(200);
    expect((await waitForJob(alice, res.body.job_id)).body).toMatchObject({ status: 'SUCCESS', entities: { image_name: 'only-data' } });
  });

  it.each([
    ['an empty body', undefined, 'IMG.0007'],
    ['an empty object', {}, 'IMG.0007'],
    ['a missing name', { instance_id: 'x' }, 'IMG.0013'],
    ['a name over 128 characters', { name: 'a'.repeat(129), instance_id: 'x' }, 'IMG.0002'],
    ['a name with angle brackets', { name: 'a<b>', instance_id: 'x' }, 'IMG.0003'],
    ['a description over 1024 characters', { name: 'n', instance_id: 'x', description: 'd'.repeat(1025) }, 'IMG.0004'],
    ['a description with a carriage return', { name: 'n', instance_id: 'x', description: 'a\rb' }, 'IMG.0004'],
    ['a description with angle brackets', { name: 'n', instance_id: 'x', description: '<script>' }, 'IMG.0004'],
    ['both tags and image_tags', { name: 'n', instance_id: 'x', tags: ['a.b'], image_tags: [{ key: 'a', value: 'b' }] }, 'IMG.0001'],
    ['min_ram above max_ram', { name: 'n', instance_id: 'x', min_ram: 2048, max_ram: 1024 }, 'IMG.0001'],
    ['a negative min_ram', { name: 'n', instance_id: 'x', min_ram: -1 }, 'IMG.0001'],
    ['a fractional max_ram', { name: 'n', instance_id: 'x', max_ram: 1.5 }, 'IMG.0001'],
    ['forms mixed (instance_id + image_url)', { name: 'n', instance_id: 'x', image_url: 'b:k', min_disk: 40 }, 'IMG.0001'],
    ['forms mixed (a bucket field with instance_id)', { name: 'n', instance_id: 'x', min_disk: 40 }, 'IMG.0001'],
    ['no source at all', { name: 'n' }, 'IMG.0012'],
    ['a JSON array', [], 'IMG.0001'],
    ['malformed JSON', '{"name": ', 'IMG.0001'],
  ])('answers %s with 400 %s in the IMS error shape', async (_label, body, code) => {
    const alice = await account();
    const res = await create(alice, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  });

  it("answers 400 IMG.0005 for a machine that does not exist or is another account's", async () => {
    const [alice, bob] = [await account(), await account()];
    const bobs = await machine(bob);
    for (const id of ['no-such-machine', bobs.id]) {
      const res = await create(alice, { name: 'n', instance_id: id });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('IMG.0005');
    }
  });

  it('answers 400 IMG.0008 for a running machine', async () => {
    const alice = await account();
    const m = await machine(alice, { state: 'running' });
    const res = await create(alice, { name: 'n', instance_id: m.id });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('IMG.0008');
  });

  it('answers 400 IMG.0009 for a name the project already has, and for a data disk not on the machine IMG.0005', async () => {
    const alice = await account();
    const m = await machine(alice);
    expect((await create(alice, { name: 'dup', instance_id: m.id })).status).toBe(200);
    const dup = await create(alice, { name: 'dup', instance_id: m.id });
    expect(dup.status).toBe(400);
    expect(dup.body.error.code).toBe('IMG.0009');
    const twice = await create(alice, { name: 'x1', instance_id: m.id, data_images: [{ name: 'x1', volume_id: m.disks[0].id }] });
    expect(twice.body.error.code).toBe('IMG.0005'); // the boot disk is not a data disk
    const other = await account();
    expect((await create(other, { name: 'dup', instance_id: (await machine(other)).id })).status).toBe(200); // names are per project
  });
});

describe("ImsCreateImage from a file in the caller's bucket", () => {
  it.each([
    ['qcow2', () => qcow2(1 * GiB), 'qcow2'],
    ['vmdk', () => vmdkSparse(2 * GiB), 'vmdk'],
    ['vhd', () => vhdFixed(Buffer.alloc(4096, 3)), 'vhd'],
    ['iso', () => iso(), 'iso'],
    ['raw', () => Buffer.alloc(70_000, 9), 'raw'],
  ])('imports a %s file: format detected, stored as-is with sha1/sha256', async (label, make, format) => {
    const alice = await account();
    const bytes = make();
    await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'ims-image', `dir/${label}.img`, bytes);
    const res = await create(alice, {
      name: `file-${label}`,
      image_url: `ims-image:dir/${label}.img`,
      min_disk: 40,
      os_version: 'CentOS 7.0 64bit',
    });
    expect(res.status).toBe(200);
    const job = await waitForJob(alice, res.body.job_id);
    expect(job.body).toMatchObject({ job_type: 'imsImportImageJob', status: 'SUCCESS' });
    const list = await call('list-images', alice, { query: { id: job.body.entities.image_id } });
    expect(list.body.images[0]).toMatchObject({
      disk_format: format,
      size: bytes.length,
      min_disk: 40,
      __os_version: 'CentOS 7.0 64bit',
      __platform: 'CentOS',
      status: 'active',
    });
    // the export of what was imported gives back the same bytes
    const exported = await call('export-image', alice, {
      params: { image_id: job.body.entities.image_id },
      body: { bucket_url: 'out-bucket:copy.img', file_format: format },
    });
    expect(exported.status).toBe(200);
    expect((await showJob(alice, exported.body.job_id)).body.status).toBe('SUCCESS');
    const obj = await s3.send(
      new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `user-buckets/${alice.id}/out-bucket/copy.img` }),
    );
    expect(Buffer.from(await obj.Body!.transformToByteArray()).equals(bytes)).toBe(true);
  });

  it('fails the job with a clear reason for a file that is not a disk image, a disk larger than min_disk, and a missing file', async () => {
    const alice = await account();
    await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'bkt1', 'x.gz', notADisk());
    await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'bkt1', 'big.qcow2', qcow2(100 * GiB));
    const cases = [
      ['x.gz', 'SourceFormatError', /gzip/],
      ['big.qcow2', 'MinDiskTooSmallError', /100 GiB.*min_disk 40/],
      ['absent.raw', 'SourceUnavailableError', /does not exist/],
    ] as const;
    for (const [key, code, reason] of cases) {
      const res = await create(alice, { name: `bad-${key}`, image_url: `bkt1:${key}`, min_disk: 40 });
      const job = await waitForJob(alice, res.body.job_id);
      expect(job.body).toMatchObject({ status: 'FAIL', error_code: code });
      expect(job.body.fail_reason).toMatch(reason);
      const list = await call('list-images', alice, { query: { name: `bad-${key}` } });
      expect(list.body.images[0].status).toBe('killed');
    }
  });

  (hasQemuImg ? it : it.skip)(
    'imports a qcow2 written by qemu-img, stored as qcow2; exported as raw, our reader gives back the source disk',
    async () => {
      const alice = await account();
      const source = path.join(dir, 'import-source.raw');
      await writeDiskFile(source, 3 * 1024 * 1024 + 512 * 3, 41);
      const file = path.join(dir, 'import.qcow2');
      expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', '-c', source, file]).status).toBe(0);
      await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'bkt', 'disk.qcow2', readFileSync(file));
      const job = await waitForJob(
        alice,
        (await create(alice, { name: 'real-qcow2', image_url: 'bkt:disk.qcow2', min_disk: 40, os_version: 'CentOS 7.0 64bit' })).body
          .job_id,
      );
      expect(job.body.status).toBe('SUCCESS');
      const imageId = job.body.entities.image_id;
      expect((await call('list-images', alice, { query: { id: imageId } })).body.images[0]).toMatchObject({
        disk_format: 'qcow2',
        status: 'active',
      });
      const exported = await call('export-image', alice, {
        params: { image_id: imageId },
        body: { bucket_url: 'bkt:disk.raw', file_format: 'raw' },
      });
      expect((await showJob(alice, exported.body.job_id)).body.status).toBe('SUCCESS');
      const obj = await s3.send(new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `user-buckets/${alice.id}/bkt/disk.raw` }));
      expect(Buffer.from(await obj.Body!.transformToByteArray()).equals(readFileSync(source))).toBe(true);
    },
    120_000,
  );

  it("cannot read another account's objects: the same bucket:key names the caller's own area", async () => {
    const [alice, bob] = [await account(), await account()];
    await putUserObject(s3, stack.env.IMAGES_BUCKET, bob.id, 'shared-name', 'disk.qcow2', qcow2(GiB));
    const res = await create(alice, { name: 'steal', image_url: 'shared-name:disk.qcow2', min_disk: 40 });
    expect((await waitForJob(alice, res.body.job_id)).body).toMatchObject({ status: 'FAIL', error_code: 'SourceUnavailableError' });
  });

  it('imports up to three data images in the same job', async () => {
    const alice = await account();
    await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'bkt', 'sys.qcow2', qcow2(GiB));
    await putUserObject(s3, stack.env.IMAGES_BUCKET, alice.id, 'bkt', 'd1.vmdk', vmdkSparse(GiB));
    const res = await create(alice, {
      name: 'multi',
      image_url: 'bkt:sys.qcow2',
      min_disk: 40,
      data_images: [{ image_url: 'bkt:d1.vmdk', min_disk: 1 }],
    });
    const job = await waitForJob(alice, res.body.job_id);
    expect(job.body.status).toBe('SUCCESS');
    expect(job.body.entities.sub_jobs_result).toEqual([
      expect.objectContaining({ status: 'SUCCESS', entities: expect.objectContaining({ image_name: 'multi-data-1' }) }),
    ]);
  });

  it.each([
    ['min_disk below 40', { name: 'n', image_url: 'bkt1:k', min_disk: 39 }],
    ['min_disk above 255', { name: 'n', image_url: 'bkt1:k', min_disk: 256 }],
    ['a missing min_disk', { name: 'n', image_url: 'bkt1:k' }],
    ['an image_url without a key', { name: 'n', image_url: 'bkt1', min_disk: 40 }],
    ['a bad bucket name', { name: 'n', image_url: 'B_1:k', min_disk: 40 }],
    [
      'four data images',
      { name: 'n', image_url: 'bkt1:k', min_disk: 40, data_images: [1, 2, 3, 4].map(() => ({ image_url: 'bkt1:d', min_disk: 1 })) },
    ],
    ['a data image min_disk of 0', { name: 'n', image_url: 'bkt1:k', min_disk: 40, data_images: [{ image_url: 'bkt1:d', min_disk: 0 }] }],
    ['an unknown os_type', { name: 'n', image_url: 'bkt1:k', min_disk: 40, os_type: 'BeOS' }],
    ['is_quick_import without os_version', { name: 'n', image_url: 'bkt1:k', min_disk: 40, is_quick_import: true }],
  ])('answers %s with 400 IMG.0001', async (_label, body) => {
    const res = await create(await account(), body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('IMG.0001');
  });
});

describe('ImsCreateImage from a data disk', () => {
  it('makes a system image from the volume (imsVolumeCreateImageJob)', async () => {
    const alice = await account();
    const m = await machine(alice, { dataDisks: [16_384] });
    const res = await create(alice, { name: 'from-vol', volume_id: m.disks[1].id, os_version: 'Ubuntu 22.04 64bit', type: 'ECS' });
    expect(res.status).toBe(200);
    const job = await waitForJob(alice, res.body.job_id);
    expect(job.body).toMatchObject({ job_type: 'imsVolumeCreateImageJob', status: 'SUCCESS' });
    const list = await call('list-images', alice, { query: { __platform: 'Ubuntu' } });
    expect(list.body.images.map((i: any) => i.name)).toEqual(['from-vol']);
  });

  it('requires os_version, refuses an unknown type and an unknown volume', async () => {
    const alice = await account();
    const m = await machine(alice, { dataDisks: [4096] });
    expect((await create(alice, { name: 'v', volume_id: m.disks[1].id })).body.error.code).toBe('IMG.0001');
    expect((await create(alice, { name: 'v', volume_id: m.disks[1].id, os_version: 'x', type: 'KVM' })).body.error.code).toBe('IMG.0001');
    expect((await create(alice, { name: 'v', volume_id: 'nope', os_version: 'x' })).body.error.code).toBe('IMG.0005');
  });
});

describe('ImsShowJob', () => {
  it("answers 404 for another account's job and 403 (gateway shape) for another project id", async () => {
    const [alice, bob] = [await account(), await account()];
    const res = await create(alice, { name: 'j', instance_id: (await machine(alice)).id });
    const other = await showJob(bob, res.body.job_id);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBeDefined();
    const wrongProject = await call('show-job', alice, { params: { project_id: bob.id, job_id: res.body.job_id } });
    expect(wrongProject.status).toBe(403);
    expect(wrongProject.body).toEqual({
      error_code: expect.stringMatching(/^APIGW\./),
      error_msg: expect.any(String),
      request_id: expect.any(String),
    });
  });
});

describe('ImsListImages, ImsUpdateImage, ImsDeleteImage, ImsExportImage', () => {
  let alice: Account;
  let machineDisk: string;
  const ids: string[] = [];
  beforeAll(async () => {
    alice = await account();
    const m = await machine(alice);
    machineDisk = path.join(dir, `disk-${n}.raw`);
    for (const name of ['l-1', 'l-2', 'l-3']) {
      const res = await create(alice, { name, instance_id: m.id, image_tags: [{ key: 'group', value: name === 'l-2' ? 'b' : 'a' }] });
      ids.push((await waitForJob(alice, res.body.job_id)).body.entities.image_id);
    }
  });

  it('pages with limit and the next link, in creation order', async () => {
    const first = await call('list-images', alice, { query: { limit: '2' } });
    expect(first.body.images.map((i: any) => i.id)).toEqual(ids.slice(0, 2));
    expect(first.body.next).toMatch(/marker=/);
    const marker = new URL(first.body.next, 'http://x').searchParams.get('marker')!;
    const second = await call('list-images', alice, { query: { limit: '2', marker } });
    expect(second.body.images.map((i: any) => i.id)).toEqual([ids[2]]);
    expect(second.body.next).toBeUndefined();
  });

  it('filters by status, tag, __imagetype, __os_type, visibility and id', async () => {
    const q = async (query: Record<string, string>) => (await call('list-images', alice, { query })).body.images.map((i: any) => i.name);
    expect(await q({ status: 'active' })).toEqual(['l-1', 'l-2', 'l-3']);
    expect(await q({ status: 'killed' })).toEqual([]);
    expect(await q({ tag: 'group=b' })).toEqual(['l-2']);
    expect(await q({ __imagetype: 'private' })).toEqual(['l-1', 'l-2', 'l-3']);
    expect(await q({ __imagetype: 'gold' })).toEqual([]);
    expect(await q({ __os_type: 'Windows' })).toEqual([]);
    expect(await q({ visibility: 'private', id: ids[1] })).toEqual(['l-2']);
    const bad = await call('list-images', alice, { query: { sort_dir: 'sideways' } });
    expect(bad.status).toBe(400);
    expect((await call('list-images', alice, { query: { marker: 'garbage' } })).status).toBe(400);
  });

  it('PATCHes name, __description and min_ram with a JSON-patch list; refuses bad ops with 400', async () => {
    const res = await call('update-image', alice, {
      params: { image_id: ids[0] },
      body: [
        { op: 'replace', path: '/name', value: 'renamed' },
        { op: 'replace', path: '/__description', value: 'new text' },
        { op: 'replace', path: '/min_ram', value: 1024 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: ids[0], name: 'renamed', __description: 'new text', min_ram: 1024 });
    expect(
      (await call('update-image', alice, { params: { image_id: ids[0] }, body: [{ op: 'replace', path: '/name', value: 'l-2' }] })).body
        .error.code,
    ).toBe('IMG.0009');
    expect(
      (await call('update-image', alice, { params: { image_id: ids[0] }, body: [{ op: 'replace', path: '/owner', value: 'x' }] })).status,
    ).toBe(400);
    expect((await call('update-image', alice, { params: { image_id: ids[0] }, body: { name: 'x' } })).status).toBe(400);
    expect(
      (
        await call('update-image', alice, {
          params: { image_id: ids[0] },
          body: [{ op: 'replace', path: '/name', value: 'x'.repeat(129) }],
        })
      ).body.error.code,
    ).toBe('IMG.0002');
    const bob = await account();
    expect(
      (await call('update-image', bob, { params: { image_id: ids[0] }, body: [{ op: 'replace', path: '/name', value: 'mine' }] })).status,
    ).toBe(404);
  });

  (hasQemuImg ? it : it.skip)(
    'exports as qcow2, vmdk, vhd and zvhd (a dynamic vhd): files qemu-img checks and finds identical to the machine disk',
    async () => {
      const expected = { qcow2: ['qcow2', 'qcow2'], vmdk: ['vmdk', 'vmdk'], vhd: ['vpc', 'vpc'], zvhd: ['vpc', 'vpc'] } as const;
      for (const [fileFormat, [qemu]] of Object.entries(expected)) {
        const res = await call('export-image', alice, {
          params: { image_id: ids[1] },
          body: { bucket_url: `bkt:f.${fileFormat}`, file_format: fileFormat },
        });
        expect(res.status).toBe(200);
        expect((await showJob(alice, res.body.job_id)).body).toMatchObject({ status: 'SUCCESS' });
        const obj = await s3.send(
          new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `user-buckets/${alice.id}/bkt/f.${fileFormat}` }),
        );
        const file = path.join(dir, `export.${fileFormat}`);
        writeFileSync(file, Buffer.from(await obj.Body!.transformToByteArray()));
        if (qemu !== 'vpc') expect(qemuImg(['check', '-f', qemu, file]).out).toMatch(/No errors were found/);
        expect(JSON.parse(qemuImg(['info', '--output=json', file]).out).format).toBe(qemu);
        expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, machineDisk, file]).out).toMatch(/Images are identical/);
      }
      // iso is not something a machine disk can become; the schema has no ova
      expect(
        (await call('export-image', alice, { params: { image_id: ids[1] }, body: { bucket_url: 'bkt:f.iso', file_format: 'iso' } })).status,
      ).toBe(400);
      expect(
        (await call('export-image', alice, { params: { image_id: ids[1] }, body: { bucket_url: 'bkt:f', file_format: 'ova' } })).status,
      ).toBe(400);
    },
    120_000,
  );

  it('DELETEs an image (204); it is gone from the list and a second delete is 404', async () => {
    const res = await call('delete-image', alice, { params: { image_id: ids[2] } });
    expect(res.status).toBe(204);
    const list = await call('list-images', alice, {});
    expect(list.body.images.map((i: any) => i.id)).not.toContain(ids[2]);
    expect((await call('delete-image', alice, { params: { image_id: ids[2] } })).status).toBe(404);
  });

  it('PATCH of an image that is not active answers 400 IMG.0046', async () => {
    const res = await call('update-image', alice, {
      params: { image_id: ids[2] },
      body: [{ op: 'replace', path: '/name', value: 'zombie' }],
    });
    expect(res.status).toBe(404); // deleted images are gone
    const broken = await account();
    await putUserObject(s3, stack.env.IMAGES_BUCKET, broken.id, 'bkt', 'x.gz', notADisk());
    const job = await waitForJob(broken, (await create(broken, { name: 'killed', image_url: 'bkt:x.gz', min_disk: 40 })).body.job_id);
    const patched = await call('update-image', broken, {
      params: { image_id: job.body.entities.image_id },
      body: [{ op: 'replace', path: '/name', value: 'y' }],
    });
    expect(patched.status).toBe(400);
    expect(patched.body.error.code).toBe('IMG.0046');
  });
});
