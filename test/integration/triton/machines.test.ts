/**
 * Machines and packages over real HTTP: CreateMachine expands an image into a new disk (byte for byte
 * the disk the image was made from), stop/start, ListMachines filters and x-resource-count, delete.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { machineRepository } from '../../../lambdas/wiring';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('machines and packages', () => {
  let login: string;
  let imageId: string;
  let diskSha: string;
  beforeAll(async () => {
    login = (await makeAccount('mach')).login;
    const { machine, diskBytes } = await makeMachine(login, { size: 300 * 1024 + 11 });
    diskSha = sha256(diskBytes());
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'golden', version: '1' });
    const done = await poll(() => api('GET', `/${login}/images/${created.body.id}`), (r) => r.body?.state !== 'creating', { intervalMs: 250, attempts: 240 });
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
    expect(res.body).toMatchObject({ name: 'from-golden', state: 'running', image: imageId, package: 'g1-small', memory: 512 });
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

  it('makes an image from a created machine whose origin is the machine’s image', async () => {
    const m = await api('POST', `/${login}/machines`, { image: imageId, package: 'g1-small' });
    await api('POST', `/${login}/machines/${m.body.id}?action=stop`);
    const img = await api('POST', `/${login}/images`, { machine: m.body.id, name: 'second', version: '1' });
    expect(img.status).toBe(201);
    expect(img.body.origin).toBe(imageId);
  });
});
