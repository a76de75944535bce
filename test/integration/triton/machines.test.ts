/**
 * Machines and packages over real HTTP: CreateMachine answers `provisioning` at once and the
 * provisioning workflow expands the image into a new disk (byte for byte the disk the image was made
 * from), or fails the machine with a reason and no disk left; stop/start, ListMachines filters and
 * x-resource-count, delete.
 */
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { machineRepository } from '../../../lambdas/wiring';

jest.setTimeout(60_000);

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Polls the machine until it leaves `provisioning`. */
const provisioned = (login: string, id: string) =>
  poll(
    () => api('GET', `/${login}/machines/${id}`),
    (r) => r.body?.state !== 'provisioning',
    { intervalMs: 100, attempts: 600 },
  );

describe('machines and packages', () => {
  let login: string;
  let imageId: string;
  let diskSha: string;
  beforeAll(async () => {
    login = (await makeAccount('mach')).login;
    const { machine, diskBytes } = await makeMachine(login, { size: 300 * 1024 + 11 });
    diskSha = sha256(diskBytes());
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'golden', version: '1' });
    const done = await poll(
      () => api('GET', `/${login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 250, attempts: 240 },
    );
    expect(done.body.state).toBe('active');
    imageId = created.body.id;
  });

  it('lists packages with their sizes', async () => {
    const res = await api('GET', `/${login}/packages`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBeGreaterThanOrEqual(3);
    for (const p of res.body) for (const f of ['id', 'name', 'memory', 'disk', 'vcpus']) expect(p).toHaveProperty(f);
  });

  it('creates a running machine whose disk is the image expanded; stops, starts, lists and deletes it', async () => {
    // Create
    const res = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small', name: 'from-golden' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/${login}/machines/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: 'from-golden',
      state: 'provisioning',
      image: imageId,
      package: 'g1-small',
      memory: 512,
      disks: [],
    });
    const running = await provisioned(login, res.body.id);
    expect(running.body).toMatchObject({ state: 'running', disks: [{ boot: true, size: 1 }] });
    const stored = await machineRepository().get(res.body.id);
    const disk = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: stored!.disks[0].key }));
    expect(sha256(await disk.Body!.transformToByteArray())).toBe(diskSha);

    // Stop / start (action in the body, as the CLI sends it)
    expect((await api('POST', `/${login}/machines/${res.body.id}`, { action: 'stop' })).status).toBe(202);
    expect((await api('GET', `/${login}/machines/${res.body.id}`)).body.state).toBe('stopped');
    expect((await api('POST', `/${login}/machines/${res.body.id}?action=start`)).status).toBe(202);
    expect((await api('GET', `/${login}/machines/${res.body.id}`)).body.state).toBe('running');
    const bad = await api('POST', `/${login}/machines/${res.body.id}?action=explode`);
    expect(bad.status).toBe(409);
    expect(bad.body.code).toBe('InvalidArgument');

    // List
    const list = await api('GET', `/${login}/machines?name=from-golden&limit=1000&offset=0`);
    expect(list.status).toBe(200);
    expect(list.headers.get('x-resource-count')).toBe('1');
    expect(list.body.map((m: { id: string }) => m.id)).toEqual([res.body.id]);
    expect((await api('GET', `/${login}/machines?image=${imageId}`)).body).toHaveLength(1);
    expect((await api('GET', `/${login}/machines?state=stopped&name=from-golden`)).body).toHaveLength(0);
    const paged = await api('GET', `/${login}/machines?limit=1&offset=1`);
    expect(paged.headers.get('x-resource-count')).toBe('1');

    // Delete
    expect((await api('DELETE', `/${login}/machines/${res.body.id}`)).status).toBe(204);
    const gone = await api('GET', `/${login}/machines/${res.body.id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.state).toBe('deleted');
    expect((await api('GET', `/${login}/machines?name=from-golden`)).body).toEqual([]);
    expect((await api('DELETE', `/${login}/machines/${res.body.id}`)).status).toBe(404);
    await expect(s3().send(new HeadObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: stored!.disks[0].key }))).rejects.toThrow();
  });

  it('refuses an unknown package or image with 422, and another account’s private image', async () => {
    expect((await api('POST', `/${login}/machines`, { image: imageId, package: 'huge' })).status).toBe(422);
    const other = await makeAccount('mach2');
    const res = await api('POST', `/${other.login}/machines`, { image: imageId, package: 'g1-small' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('InvalidParameter');
  });

  it('fails the machine with the reason and leaves no disk when the image file cannot be read', async () => {
    // Arrange: an active image whose file is gone from the images bucket before the workflow reads it
    const { machine } = await makeMachine(login, { size: 64 * 1024 + 3 });
    const made = await api('POST', `/${login}/images`, { machine: machine.id, name: 'doomed', version: '1' });
    const active = await poll(
      () => api('GET', `/${login}/images/${made.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 100, attempts: 600 },
    );
    expect(active.body.state).toBe('active');
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: `images/${made.body.id}/` }));
    for (const o of listed.Contents ?? []) await s3().send(new DeleteObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: o.Key! }));

    // Act
    const res = await api('POST', `/${login}/machines`, { image: made.body.id, package: 'g1-small' });

    // Assess
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('provisioning');
    const failed = await provisioned(login, res.body.id);
    expect(failed.body).toMatchObject({
      state: 'failed',
      disks: [],
      error: { code: 'SourceUnavailableError', message: expect.stringContaining('does not exist') },
    });
    const prefix = `machines/${res.body.id}/`;
    expect((await s3().send(new ListObjectsV2Command({ Bucket: stack.env.DISKS_BUCKET, Prefix: prefix }))).Contents ?? []).toEqual([]);
    expect((await s3().send(new ListMultipartUploadsCommand({ Bucket: stack.env.DISKS_BUCKET, Prefix: prefix }))).Uploads ?? []).toEqual(
      [],
    );
    // a failed machine can be deleted
    expect((await api('DELETE', `/${login}/machines/${res.body.id}`)).status).toBe(204);
  });

  it('makes an image from a created machine whose origin is the machine’s image', async () => {
    const m = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small' });
    expect((await provisioned(login, m.body.id)).body.state).toBe('running');
    await api('POST', `/${login}/machines/${m.body.id}?action=stop`);
    const img = await api('POST', `/${login}/images`, { machine: m.body.id, name: 'second', version: '1' });
    expect(img.status).toBe(201);
    expect(img.body.origin).toBe(imageId);
  });
});
