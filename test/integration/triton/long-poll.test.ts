/**
 * Long-poll over real HTTP (lambdas/dialects/triton/long-poll.ts): `GET /{login}/jobs/{id}?wait=N` and
 * `GET /{login}/images/{id}?wait=N` answer as soon as the resource changes. Promptness is asserted by
 * order, never by a time limit: a waiting request answers a change that happens during the wait, and
 * does so before a control request started later on an unchanging resource has waited out its shorter wait.
 */
import { api, poll, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;

async function slowBuild(login: string) {
  const { machine } = await makeMachine(login, { size: 48 * MiB });
  const disarm = await armS3Fault({
    op: 'GetObject',
    bucket: stack.env.DISKS_BUCKET,
    prefix: machine.disks[0].key,
    times: -1,
    bytesPerSecond: 2 * MiB,
  });
  const created = await api('POST', `/${login}/images`, {
    machine: machine.id,
    name: `lp-${machine.id.slice(0, 8)}`,
    version: '1',
    compression: 'none',
  });
  expect(created.status).toBe(201);
  const jobId = created.headers.get('x-joyent-jobid')!;
  await poll(
    () => api('GET', `/${login}/jobs/${jobId}`),
    (r) => r.body?.status === 'RUNNING',
    { intervalMs: 100, attempts: 300 },
  );
  return { imageId: created.body.id as string, jobId, disarm };
}

describe('long-poll', () => {
  let login: string;
  beforeAll(async () => {
    login = (await makeAccount('longpoll')).login;
  });

  it('a waiting job GET answers at the next change of the job (its progress), not at the end of the build', async () => {
    const { jobId, disarm } = await slowBuild(login);
    try {
      const before = await api('GET', `/${login}/jobs/${jobId}`);
      const etag = before.headers.get('etag')!;
      expect(etag).toMatch(/^"\d+"$/);

      const waited = await api('GET', `/${login}/jobs/${jobId}?wait=25`, undefined, { headers: { 'if-none-match': etag } });

      expect(waited.status).toBe(200);
      expect(waited.headers.get('etag')).not.toBe(etag);
      expect(Number(waited.headers.get('etag')!.slice(1, -1))).toBeGreaterThan(Number(etag.slice(1, -1)));
      // a 24 s build (48 MiB at 2 MiB/s) is still running: the answer came with a progress write
      expect(waited.body).toMatchObject({ id: jobId, status: 'RUNNING' });
      expect(waited.body.progress).toBeGreaterThanOrEqual(before.body.progress);
    } finally {
      await api('POST', `/${login}/jobs/${jobId}?action=cancel`);
      await disarm();
    }
  });

  it('a waiting image GET answers the cancel of its build before a later, shorter wait on an unchanging image ends', async () => {
    const { imageId, jobId, disarm } = await slowBuild(login);
    try {
      const order: string[] = [];
      const image = await api('GET', `/${login}/images/${imageId}`);
      expect(image.body.state).toBe('creating');
      const waiting = api('GET', `/${login}/images/${imageId}?wait=25`, undefined, {
        headers: { 'if-none-match': image.headers.get('etag')! },
      }).then((r) => {
        order.push('waiting');
        return r;
      });
      const cancel = await api('POST', `/${login}/jobs/${jobId}?action=cancel`);
      expect(cancel.status).toBe(200);
      // the control: the cancelled job no longer changes; it waits out its 8 s
      const cancelledEtag = (await api('GET', `/${login}/jobs/${jobId}`)).headers.get('etag')!;
      const control = api('GET', `/${login}/jobs/${jobId}?wait=8`, undefined, { headers: { 'if-none-match': cancelledEtag } }).then((r) => {
        order.push('control');
        return r;
      });

      const [answered, unchanged] = await Promise.all([waiting, control]);

      expect(order).toEqual(['waiting', 'control']);
      expect(answered.status).toBe(200);
      expect(answered.body).toMatchObject({ id: imageId, state: 'failed', error: { code: 'Cancelled' } });
      expect(unchanged.status).toBe(200);
      expect(unchanged.headers.get('etag')).toBe(cancelledEtag);
      expect(unchanged.body).toMatchObject({ status: 'CANCELLED' });
    } finally {
      await disarm();
    }
  });

  it('an If-None-Match that is already stale answers at once with the current revision', async () => {
    const { machine } = await makeMachine(login, { size: 1 * MiB });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'lp-stale', version: '1' });
    const jobId = created.headers.get('x-joyent-jobid')!;
    const done = await poll(
      () => api('GET', `/${login}/jobs/${jobId}`),
      (r) => r.body?.status === 'SUCCESS',
      { intervalMs: 100, attempts: 300 },
    );
    const res = await api('GET', `/${login}/jobs/${jobId}?wait=25`, undefined, { headers: { 'if-none-match': '"0"' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(done.headers.get('etag'));
    expect(res.body).toMatchObject({ status: 'SUCCESS', progress: 100 });
  });

  it.each(['26', '-1', '2.5', 'soon'])('wait=%s is refused as Triton refuses a bad argument', async (wait) => {
    const { machine } = await makeMachine(login, { size: 1 * MiB });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: `lp-bad-${wait.replace(/\W/g, '')}`, version: '1' });
    const res = await api('GET', `/${login}/jobs/${created.headers.get('x-joyent-jobid')}?wait=${wait}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'InvalidArgument' });
    const img = await api('GET', `/${login}/images/${created.body.id}?wait=${wait}`);
    expect(img.status).toBe(409);
    expect(img.body).toMatchObject({ code: 'InvalidArgument' });
  });
});
