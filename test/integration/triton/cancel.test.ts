/**
 * Cancel over real HTTP: `POST /{login}/jobs/{id}?action=cancel` and DELETE of a `creating` image stop
 * a build mid-way (the source disk is served slowly by the local S3's fault injection so that the
 * build is certainly running); nothing is left under the image's prefix, objects or uploads.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;

async function leftovers(imageId: string): Promise<{ objects: string[]; uploads: string[] }> {
  const Prefix = `images/${imageId}/`;
  const objects = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix }));
  const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket: stack.env.IMAGES_BUCKET, Prefix }));
  return { objects: (objects.Contents ?? []).map((o) => o.Key!), uploads: (uploads.Uploads ?? []).map((u) => u.Key!) };
}

/** Nothing under the prefix now, and still nothing once any task that was running has had time to notice. */
async function expectNothingLeft(imageId: string): Promise<void> {
  const none = { objects: [], uploads: [] };
  expect(
    await poll(
      () => leftovers(imageId),
      (l) => l.objects.length === 0 && l.uploads.length === 0,
      { intervalMs: 200, attempts: 100 },
    ),
  ).toEqual(none);
  await new Promise((r) => setTimeout(r, 2500));
  expect(await leftovers(imageId)).toEqual(none);
}

/**
 * A build from a 48 MiB disk whose bytes the local S3 serves at 6 MiB/s: several seconds of RUNNING.
 * Uncompressed, so the file is a multipart upload (16 MiB parts) after the first part's worth.
 */
async function slowBuild(login: string) {
  const { machine } = await makeMachine(login, { size: 48 * MiB });
  const disarm = await armS3Fault({
    op: 'GetObject',
    bucket: stack.env.DISKS_BUCKET,
    prefix: machine.disks[0].key,
    times: -1,
    bytesPerSecond: 6 * MiB,
  });
  const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'slow', version: '1', compression: 'none' });
  expect(created.status).toBe(201);
  const jobId = created.headers.get('x-joyent-jobid')!;
  const running = await poll(
    () => api('GET', `/${login}/jobs/${jobId}`),
    (r) => r.body?.status === 'RUNNING' && r.body.progress >= 10,
    { intervalMs: 100, attempts: 300 },
  );
  expect(running.body).toMatchObject({ status: 'RUNNING' });
  expect(running.body.progress).toBeLessThan(95);
  // the file is being written as a multipart upload: what a cancel must not leave behind
  const writing = await poll(
    () => leftovers(created.body.id),
    (l) => l.uploads.length > 0,
    { intervalMs: 100, attempts: 100 },
  );
  expect(writing.uploads).toHaveLength(1);
  return { imageId: created.body.id as string, jobId, disarm };
}

describe('cancel', () => {
  let login: string;
  beforeAll(async () => {
    login = (await makeAccount('cancel')).login;
  });

  it('cancels a running build: job CANCELLED, image failed Cancelled, no objects and no open uploads', async () => {
    const { imageId, jobId, disarm } = await slowBuild(login);
    try {
      // Act
      const res = await api('POST', `/${login}/jobs/${jobId}?action=cancel`);

      // Assess
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: jobId, status: 'CANCELLED', error_code: 'Cancelled' });
      expect(res.body.end_time).toEqual(expect.any(String));
      const image = await api('GET', `/${login}/images/${imageId}`);
      expect(image.body).toMatchObject({ state: 'failed', error: { code: 'Cancelled' } });
      await expectNothingLeft(imageId);
      // the workflow's own failure path, if it ran, changed nothing
      expect((await api('GET', `/${login}/jobs/${jobId}`)).body).toMatchObject({ status: 'CANCELLED', error_code: 'Cancelled' });
      expect((await api('GET', `/${login}/images/${imageId}`)).body).toMatchObject({ state: 'failed', error: { code: 'Cancelled' } });
    } finally {
      await disarm();
    }
  });

  it('DELETE of a creating image cancels its build and leaves nothing', async () => {
    const { imageId, jobId, disarm } = await slowBuild(login);
    try {
      expect((await api('DELETE', `/${login}/images/${imageId}`)).status).toBe(204);
      expect((await api('GET', `/${login}/images/${imageId}`)).status).toBe(404);
      expect((await api('GET', `/${login}/jobs/${jobId}`)).body).toMatchObject({ status: 'CANCELLED' });
      await expectNothingLeft(imageId);
    } finally {
      await disarm();
    }
  });

  it('answers 409 InvalidState for a finished job, 404 for another account’s, and 409 for an unknown action', async () => {
    const { machine } = await makeMachine(login, { size: 64 * 1024 });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'quick', version: '1' });
    const jobId = created.headers.get('x-joyent-jobid')!;
    const done = await poll(
      () => api('GET', `/${login}/jobs/${jobId}`),
      (r) => r.body?.status === 'SUCCESS',
      { intervalMs: 100, attempts: 600 },
    );
    expect(done.body.status).toBe('SUCCESS');

    const again = await api('POST', `/${login}/jobs/${jobId}?action=cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('InvalidState');
    expect((await api('GET', `/${login}/images/${created.body.id}`)).body.state).toBe('active');

    const other = await makeAccount('cancel2');
    expect((await api('POST', `/${other.login}/jobs/${jobId}?action=cancel`)).status).toBe(404);
    const unknown = await api('POST', `/${login}/jobs/${jobId}`, { action: 'pause' });
    expect(unknown.status).toBe(409);
    expect(unknown.body.code).toBe('InvalidArgument');
  });
});
