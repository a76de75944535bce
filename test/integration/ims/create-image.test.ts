/**
 * The IMS dialect over real HTTP on the embedded stack, authenticated as IMS clients are (an
 * X-Auth-Token; Basic via `api(…, {as})` for the rest): the three create forms, the job lifecycle
 * (INIT/RUNNING → SUCCESS; FAIL with error_code and fail_reason), import of each detectable format,
 * list filters and paging, PATCH, DELETE and export. The validation matrix runs at handler level
 * (test/unit/dialects/ims/handlers.test.ts); here each kind of error is checked once end to end.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { GiB, iso, notADisk, putUserObject, qcow2, vhdFixed, vmdkDescriptor, vmdkSparse } from '../../helpers/ims-fixtures';

type Account = Awaited<ReturnType<typeof makeAccount>>;

const ims = (token: string) => ({ headers: { 'x-auth-token': token } });

async function waitForJob(account: Account, token: string, jobId: string) {
  return poll(
    () => api('GET', `/v1/${account.id}/jobs/${jobId}`, undefined, ims(token)),
    (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
    { intervalMs: 200, attempts: 300 },
  );
}

describe('IMS CreateImage over HTTP', () => {
  let alice: Account;
  let token: string;
  beforeAll(async () => {
    alice = await makeAccount('imsit');
    token = await makeToken(alice.login);
  });

  it('creates a system image from a stopped machine: 200 {job_id}, the job INIT/RUNNING → SUCCESS with image_id', async () => {
    const { machine } = await makeMachine(alice.login, { size: 1024 * 1024 });
    const res = await api('POST', '/v2/cloudimages/action', { name: 'ims_test', instance_id: machine.id, tags: ['aaa.111'] }, ims(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ job_id: expect.any(String) });
    const early = await api('GET', `/v1/${alice.id}/jobs/${res.body.job_id}`, undefined, ims(token));
    expect(['INIT', 'RUNNING', 'SUCCESS']).toContain(early.body.status);
    const job = await waitForJob(alice, token, res.body.job_id);
    expect(job.body).toMatchObject({
      job_type: 'imsCreateImageByInstance',
      status: 'SUCCESS',
      error_code: null,
      fail_reason: null,
      entities: { image_name: 'ims_test', image_id: expect.any(String) },
    });
    const progress = await api('GET', `/v1/cloudimages/job/${res.body.job_id}`, undefined, ims(token));
    expect(progress.body.entities).toMatchObject({ process_percent: 1, current_task: expect.any(String) });
    const listed = await api('GET', `/v2/cloudimages?id=${job.body.entities.image_id}`, undefined, { as: alice });
    expect(listed.body.images[0]).toMatchObject({
      name: 'ims_test',
      status: 'active',
      disk_format: 'raw',
      __imagetype: 'private',
      tags: ['aaa.111'],
      __data_origin: `instance,${machine.id}`,
    });
  });

  it('answers the documented IMG codes: empty body, long name, bad description, mixed forms, missing machine, running machine, duplicate name', async () => {
    const { machine: running } = await makeMachine(alice.login, { size: 4096, state: 'running' });
    const { machine: stopped } = await makeMachine(alice.login, { size: 4096 });
    await api('POST', '/v2/cloudimages/action', { name: 'taken', instance_id: stopped.id }, ims(token));
    const cases: [unknown, string][] = [
      [{}, 'IMG.0007'],
      [{ name: 'a'.repeat(129), instance_id: stopped.id }, 'IMG.0002'],
      [{ name: 'ok', instance_id: stopped.id, description: 'x<y>' }, 'IMG.0004'],
      [{ name: 'ok', instance_id: stopped.id, image_url: 'bucket:file', min_disk: 40 }, 'IMG.0001'],
      [{ name: 'ok', instance_id: '6f0c2f57-0000-4000-8000-000000000000' }, 'IMG.0005'],
      [{ name: 'ok', instance_id: running.id }, 'IMG.0008'],
      [{ name: 'taken', instance_id: stopped.id }, 'IMG.0009'],
    ];
    for (const [body, code] of cases) {
      const res = await api('POST', '/v2/cloudimages/action', body, ims(token));
      expect([res.status, res.body]).toEqual([400, { error: { code, message: expect.any(String) } }]);
    }
    const malformed = await api('POST', '/v2/cloudimages/action', '{"name":', {
      ...ims(token),
      headers: { ...ims(token).headers, 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('IMG.0001');
  });

  it('refuses an unauthenticated request', async () => {
    const res = await api('POST', '/v2/cloudimages/action', { name: 'x', instance_id: 'y' }, { anonymous: true });
    expect(res.status).toBe(401);
  });

  it.each([
    ['qcow2', () => qcow2(GiB)],
    ['vmdk', () => vmdkSparse(2 * GiB)],
    ['vmdk', () => vmdkDescriptor(2048, 2048)],
    ['vhd', () => vhdFixed(Buffer.alloc(8192, 5))],
    ['iso', () => iso()],
    ['raw', () => Buffer.alloc(100_000, 1)],
  ])("imports a %s file from the caller's bucket and exports it back byte for byte", async (format, make) => {
    const bytes = make();
    const key = `images/${format}-${bytes.length}`;
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, alice.id, 'ims-image', key, bytes);
    const name = `import-${format}-${bytes.length}`;
    const res = await api(
      'POST',
      '/v2/cloudimages/action',
      { name, image_url: `ims-image:${key}`, min_disk: 40, os_version: 'CentOS 7.0 64bit' },
      ims(token),
    );
    expect(res.status).toBe(200);
    const job = await waitForJob(alice, token, res.body.job_id);
    expect(job.body).toMatchObject({ job_type: 'imsImportImageJob', status: 'SUCCESS' });
    const image = (await api('GET', `/v2/cloudimages?name=${name}`, undefined, ims(token))).body.images[0];
    expect(image).toMatchObject({
      disk_format: format,
      size: bytes.length,
      min_disk: 40,
      status: 'active',
      __platform: 'CentOS',
      __data_origin: `file,ims-image:${key}`,
    });
    const exp = await api(
      'POST',
      `/v1/cloudimages/${image.id}/file`,
      { bucket_url: `exports-bkt:${key}`, file_format: format },
      ims(token),
    );
    expect(exp.status).toBe(200);
    expect((await waitForJob(alice, token, exp.body.job_id)).body.status).toBe('SUCCESS');
    const out = await s3().send(
      new GetObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: `user-buckets/${alice.id}/exports-bkt/${key}` }),
    );
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(bytes)).toBe(true);
  });

  it('ends FAIL with error_code and fail_reason (and the image killed) for a file that is not a disk image', async () => {
    await putUserObject(s3(), stack.env.IMAGES_BUCKET, alice.id, 'ims-image', 'bad.gz', notADisk());
    const res = await api('POST', '/v2/cloudimages/action', { name: 'bad-file', image_url: 'ims-image:bad.gz', min_disk: 40 }, ims(token));
    const job = await waitForJob(alice, token, res.body.job_id);
    expect(job.body).toMatchObject({
      status: 'FAIL',
      error_code: 'SourceFormatError',
      fail_reason: expect.stringMatching(/gzip/),
      end_time: expect.any(String),
    });
    const image = (await api('GET', '/v2/cloudimages?name=bad-file', undefined, ims(token))).body.images[0];
    expect(image.status).toBe('killed');
  });
});

describe('IMS list, PATCH, DELETE over HTTP', () => {
  let bob: Account;
  let token: string;
  const ids: string[] = [];
  beforeAll(async () => {
    bob = await makeAccount('imslist');
    token = await makeToken(bob.login);
    const { machine } = await makeMachine(bob.login, { size: 64 * 1024 });
    for (const name of ['p-1', 'p-2', 'p-3']) {
      const res = await api(
        'POST',
        '/v2/cloudimages/action',
        { name, instance_id: machine.id, image_tags: [{ key: 'tier', value: name === 'p-3' ? 'db' : 'web' }] },
        ims(token),
      );
      ids.push((await waitForJob(bob, token, res.body.job_id)).body.entities.image_id);
    }
  });

  it('pages with limit + marker and filters by tag, status and __imagetype', async () => {
    const page1 = await api('GET', '/v2/cloudimages?__imagetype=private&limit=2', undefined, ims(token));
    expect(page1.body.images.map((i: { id: string }) => i.id)).toEqual(ids.slice(0, 2));
    const page2 = await api('GET', page1.body.next, undefined, ims(token));
    expect(page2.body.images.map((i: { id: string }) => i.id)).toEqual([ids[2]]);
    expect(
      (await api('GET', '/v2/cloudimages?tag=tier=db', undefined, ims(token))).body.images.map((i: { name: string }) => i.name),
    ).toEqual(['p-3']);
    expect((await api('GET', '/v2/cloudimages?status=saving&__imagetype=private', undefined, ims(token))).body.images).toEqual([]);
    // owner= narrows to one project's images; with __imagetype=private another project's id matches nothing
    const own = await api('GET', `/v2/cloudimages?owner=${bob.id}&__imagetype=private`, undefined, ims(token));
    expect(own.body.images.map((i: { id: string }) => i.id)).toEqual(ids);
    const other = await api('GET', '/v2/cloudimages?owner=00000000000000000000000000000000&__imagetype=private', undefined, ims(token));
    expect(other.status).toBe(200);
    expect(other.body.images).toEqual([]);
    const notMineNorVisible = await api('GET', '/v2/cloudimages?owner=00000000000000000000000000000000', undefined, ims(token));
    expect(notMineNorVisible.body.images).toEqual([]);
  });

  it('PATCHes with a JSON-patch list and DELETEs with the Glance route', async () => {
    const patched = await api(
      'PATCH',
      `/v2/cloudimages/${ids[0]}`,
      [
        { op: 'replace', path: '/name', value: 'p-renamed' },
        { op: 'replace', path: '/max_ram', value: 4096 },
      ],
      ims(token),
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'p-renamed', max_ram: '4096' });
    const del = await api('DELETE', `/v2/images/${ids[1]}`, undefined, ims(token));
    expect(del.status).toBe(204);
    const names = (await api('GET', '/v2/cloudimages?__imagetype=private', undefined, ims(token))).body.images.map(
      (i: { name: string }) => i.name,
    );
    expect(names).toEqual(['p-renamed', 'p-3']);
    const other = await makeAccount('imsother');
    expect((await api('DELETE', `/v2/images/${ids[2]}`, undefined, { as: other })).status).toBe(404);
  });
});
