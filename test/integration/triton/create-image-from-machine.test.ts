/**
 * CreateImageFromMachine end to end on the embedded local stack, over real HTTP: the API records the
 * image and job and returns at once; the Step Functions workflow builds the file into S3; the image
 * becomes active with a manifest that matches the stored bytes.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';

const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
const waitForImage = (login: string, id: string) =>
  poll(
    () => api('GET', `/${login}/images/${id}`),
    (r) => r.body?.state !== 'creating',
    { intervalMs: 250, attempts: 240 },
  );

async function download(location: string): Promise<Buffer> {
  const res = await fetch(location);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('CreateImageFromMachine', () => {
  let login: string;
  let accountId: string;
  beforeAll(async () => {
    const account = await makeAccount('create');
    login = account.login;
    accountId = account.id;
  });

  it('answers 201 with the creating image, its job id and Location, then builds an active gzip image whose file matches the manifest', async () => {
    // Prepare
    const { machine, diskBytes } = await makeMachine(login, { size: 5 * 1024 * 1024 + 777 });
    // Act
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'my-image', version: '1.0.0' });
    // Assess: the immediate answer
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'my-image',
      version: '1.0.0',
      state: 'creating',
      owner: accountId,
      public: false,
      requirements: {},
    });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const jobId = created.headers.get('x-joyent-jobid');
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.get('location')).toBe(`/${login}/images/${created.body.id}`);
    for (const h of ['request-id', 'response-time', 'api-version', 'server', 'date']) expect(created.headers.get(h)).toBeTruthy();

    // Assess: the build
    const image = await waitForImage(login, created.body.id);
    expect(image.status).toBe(200);
    expect(image.body.state).toBe('active');
    expect(image.body.origin).toBe(machine.image);
    expect(image.body.files).toHaveLength(1);
    const file = image.body.files[0];
    expect(file.compression).toBe('gzip');

    const redirect = await api('GET', `/${login}/images/${created.body.id}/file`);
    expect(redirect.status).toBe(302);
    const bytes = await download(redirect.headers.get('location')!);
    expect(bytes.length).toBe(file.size);
    expect(sha('sha1', bytes)).toBe(file.sha1);
    expect(sha('sha256', bytes)).toBe(file.sha256);
    const disk = diskBytes();
    expect(sha('sha256', gunzipSync(bytes))).toBe(sha('sha256', disk));

    const job = await api('GET', `/${login}/jobs/${jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: jobId,
      status: 'SUCCESS',
      progress: 100,
      entities: { image_id: created.body.id, machine_id: machine.id },
    });
    expect(Date.parse(job.body.begin_time)).toBeLessThanOrEqual(Date.parse(job.body.end_time));
  });

  it('stores the disk byte for byte with compression none', async () => {
    const { machine, diskBytes } = await makeMachine(login, { size: 2 * 1024 * 1024 });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'raw-image', version: '2.0', compression: 'none' });
    expect(created.status).toBe(201);
    const image = await waitForImage(login, created.body.id);
    expect(image.body.state).toBe('active');
    const file = image.body.files[0];
    expect(file.compression).toBe('none');
    const redirect = await api('GET', `/${login}/images/${created.body.id}/file`);
    const bytes = await download(redirect.headers.get('location')!);
    expect(bytes.equals(diskBytes())).toBe(true);
    expect(file.size).toBe(bytes.length);
    expect(file.sha1).toBe(sha('sha1', bytes));
  });

  it('answers 409 MissingParameter without a name', async () => {
    const { machine } = await makeMachine(login, { size: 4096 });
    const res = await api('POST', `/${login}/images`, { machine: machine.id, version: '1.0.0' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('MissingParameter');
    expect(res.body.message).toMatch(/name/);
  });

  it('answers 409 for a running machine and creates nothing', async () => {
    const { machine } = await makeMachine(login, { size: 4096, state: 'running' });
    const res = await api('POST', `/${login}/images`, { machine: machine.id, name: 'x', version: '1' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('InvalidState');
    expect(res.body.message).toMatch(/running.*stop/);
    const list = await api('GET', `/${login}/images?state=all`);
    expect(list.body.map((i: { name: string }) => i.name)).not.toContain('x');
  });

  it('answers 422 InvalidParameter for an unknown machine', async () => {
    const res = await api('POST', `/${login}/images`, { machine: '7b0c8bf2-1111-4a5e-9d7e-000000000000', name: 'x', version: '1' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('InvalidParameter');
  });

  it("answers 422 InvalidParameter for another account's machine", async () => {
    const other = await makeAccount('other');
    const { machine } = await makeMachine(other.login, { size: 4096 });
    const res = await api('POST', `/${login}/images`, { machine: machine.id, name: 'x', version: '1' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'InvalidParameter' });
  });

  it('ends failed with a reason, the job FAIL, and nothing left in S3 when the disk is gone before the build', async () => {
    // Prepare: the machine's disk object disappears
    const { machine } = await makeMachine(login, { size: 1024 * 1024 });
    await s3().send(new DeleteObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: machine.disks[0].key }));
    // Act
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'doomed', version: '1' });
    expect(created.status).toBe(201);
    const image = await waitForImage(login, created.body.id);
    // Assess
    expect(image.body.state).toBe('failed');
    expect(image.body.error.code).toBe('SourceUnavailableError');
    expect(image.body.error.message).toMatch(/source disk .* does not exist/);
    const job = await api('GET', `/${login}/jobs/${created.headers.get('x-joyent-jobid')}`);
    expect(job.body.status).toBe('FAIL');
    expect(job.body.error_code).toBe('SourceUnavailableError');
    expect(job.body.fail_reason).toMatch(/does not exist/);
    const prefix = `images/${created.body.id}/`;
    const objects = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: prefix }));
    expect(objects.Contents ?? []).toHaveLength(0);
    const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket: stack.env.IMAGES_BUCKET, Prefix: prefix }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
    const file = await api('GET', `/${login}/images/${created.body.id}/file`);
    expect(file.status).toBe(409);
  });
});

describe('CreateImageFromMachine bad input', () => {
  let login: string;
  let machineId: string;
  beforeAll(async () => {
    login = (await makeAccount('bad')).login;
    machineId = (await makeMachine(login, { size: 4096 })).machine.id;
  });

  it.each([
    ['malformed JSON', '{"machine": ', 400, 'BadRequest'],
    ['a JSON array', '[]', 409, 'InvalidArgument'],
    ['a JSON string', '"hello"', 409, 'InvalidArgument'],
  ])('answers %s with a 4xx in the Triton shape', async (_label, body, status, code) => {
    const res = await api('POST', `/${login}/images`, body, { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ code });
    expect(typeof res.body.message).toBe('string');
  });

  it('rejects unknown fields with InvalidArgument naming them', async () => {
    const res = await api('POST', `/${login}/images`, { machine: machineId, name: 'n', version: '1', colour: 'blue' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('InvalidArgument');
    expect(res.body.message).toMatch(/colour/);
  });

  it('reports every bad field at once for wrong types', async () => {
    const res = await api('POST', `/${login}/images`, { machine: machineId, name: 42, version: ['1'], tags: 'x' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('InvalidArgument');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['name', 'tags', 'version']);
  });

  it('rejects a name with characters IMGAPI does not allow, and a huge name', async () => {
    const bad = await api('POST', `/${login}/images`, { machine: machineId, name: 'no<html>', version: '1' });
    expect(bad.status).toBe(409);
    const huge = await api('POST', `/${login}/images`, { machine: machineId, name: 'a'.repeat(513), version: '1' });
    expect(huge.status).toBe(409);
    expect(huge.body.errors[0].field).toBe('name');
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const res = await api('POST', `/${login}/images`, { machine: machineId, name: 'n', version: '1', description: 'd'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('RequestTooLarge');
  });

  it('answers 404 ResourceNotFound for a random image id and a malformed one', async () => {
    for (const id of ['5f1a1b1e-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await api('GET', `/${login}/images/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'ResourceNotFound', message: 'image not found' });
    }
  });
});
