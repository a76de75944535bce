/**
 * Job state-change events end to end: a build's writes go through the table's stream (emulated in front
 * of dynalite, local/dynamo-stream.ts) to the stream consumer (lambdas/events/job-stream.ts), which
 * publishes to the stack's bus through the real EventBridge client; the local EventBridge keeps what
 * it accepted, read here with `GET /--events`. Each job's events are checked in order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { api, poll, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';
import { JOB_EVENT_DETAIL_TYPE, JOB_EVENT_SOURCE, type JobStateChange } from '../../../lambdas/core/job-events';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;

interface Sunk {
  bus: string;
  source: string;
  'detail-type': string;
  detail: JobStateChange;
}

/** The published schema of the detail (docs/events/image-job-state-change.schema.json): every event must match it. */
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const validDetail = ajv.compile(
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'events', 'image-job-state-change.schema.json'), 'utf8')),
);

async function eventsOf(jobId: string): Promise<JobStateChange[]> {
  const res = await fetch(`${stack.env.AWS_ENDPOINT_URL_EVENTBRIDGE}/--events?bus=${encodeURIComponent(stack.env.EVENT_BUS_NAME)}`);
  const { events } = (await res.json()) as { events: Sunk[] };
  return events
    .filter((e) => e.detail.job === jobId)
    .map((e) => {
      expect(e).toMatchObject({ source: JOB_EVENT_SOURCE, 'detail-type': JOB_EVENT_DETAIL_TYPE });
      expect({ valid: validDetail(e.detail), errors: validDetail.errors ?? null }).toEqual({ valid: true, errors: null });
      return e.detail;
    });
}

const until = (jobId: string, last: JobStateChange['status']) =>
  poll(
    () => eventsOf(jobId),
    (events) => events.some((e) => e.status === last),
    { intervalMs: 200, attempts: 300 },
  );

/** A build whose source disk the local S3 serves slowly, so it stays RUNNING over several progress reports. */
async function slowBuild(login: string, bytesPerSecond: number, size = 32 * MiB) {
  const { machine } = await makeMachine(login, { size });
  const disarm = await armS3Fault({
    op: 'GetObject',
    bucket: stack.env.DISKS_BUCKET,
    prefix: machine.disks[0].key,
    times: -1,
    bytesPerSecond,
  });
  const created = await api('POST', `/${login}/images`, {
    machine: machine.id,
    name: `ev-${machine.id.slice(0, 8)}`,
    version: '1',
    compression: 'none',
  });
  expect(created.status).toBe(201);
  return { machine, imageId: created.body.id as string, jobId: created.headers.get('x-joyent-jobid')!, disarm };
}

describe('Image Job State Change events', () => {
  let login: string;
  let accountId: string;
  beforeAll(async () => {
    const account = await makeAccount('events');
    login = account.login;
    accountId = account.id;
  });

  it('a build publishes created → running → each tenth of progress → succeeded, in order, once each', async () => {
    const { imageId, jobId, disarm } = await slowBuild(login, 8 * MiB);
    try {
      const events = await until(jobId, 'succeeded');
      const statuses = events.map((e) => e.status);
      expect(statuses[0]).toBe('created');
      expect(statuses[1]).toBe('running');
      expect(statuses.at(-1)).toBe('succeeded');
      const steps = events.slice(2, -1);
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.every((e) => e.status === 'running')).toBe(true);
      // each step enters a higher tenth than the one before (and than the start)
      const tenths = [events[1], ...steps].map((e) => Math.floor(e.progress / 10));
      for (let i = 1; i < tenths.length; i++) expect(tenths[i]).toBeGreaterThan(tenths[i - 1]);
      expect(events.at(-1)).toMatchObject({
        account: accountId,
        job: jobId,
        image: imageId,
        type: 'CreateImageFromMachine',
        progress: 100,
      });
      expect(events.every((e) => e.account === accountId && e.image === imageId && !Number.isNaN(Date.parse(e.time)))).toBe(true);
      // revisions grow: no transition published twice
      const revisions = events.map((e) => e.revision);
      expect(new Set(revisions).size).toBe(revisions.length);
      expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
      // nothing more comes once the job ended (the stack has delivered everything)
      await new Promise((r) => setTimeout(r, 1000));
      expect(await eventsOf(jobId)).toEqual(events);
    } finally {
      await disarm();
    }
  });

  it('a failed build ends with one failed event carrying the error', async () => {
    const { machine } = await makeMachine(login, { size: 4 * MiB });
    const disarm = await armS3Fault({
      op: 'GetObject',
      bucket: stack.env.DISKS_BUCKET,
      prefix: machine.disks[0].key,
      times: -1,
      status: 403,
      code: 'AccessDenied',
    });
    try {
      const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'ev-failed', version: '1' });
      expect(created.status).toBe(201);
      const jobId = created.headers.get('x-joyent-jobid')!;
      const events = await until(jobId, 'failed');
      expect(events[0].status).toBe('created');
      expect(events.filter((e) => e.status === 'failed')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({
        status: 'failed',
        job: jobId,
        error: { code: expect.any(String), message: expect.any(String) },
      });
      expect(events.map((e) => e.status).filter((s) => s === 'succeeded')).toEqual([]);
      const job = await api('GET', `/${login}/jobs/${jobId}`);
      expect(job.body).toMatchObject({ status: 'FAIL' });
      expect(events.at(-1)!.error!.code).toBe(job.body.error_code);
    } finally {
      await disarm();
    }
  });

  it('a cancelled build ends with one cancelled event', async () => {
    const { jobId, disarm } = await slowBuild(login, 4 * MiB);
    try {
      await poll(
        () => eventsOf(jobId),
        (events) => events.some((e) => e.status === 'running'),
        { intervalMs: 100, attempts: 300 },
      );
      const cancel = await api('POST', `/${login}/jobs/${jobId}?action=cancel`);
      expect(cancel.status).toBe(200);
      const events = await until(jobId, 'cancelled');
      expect(events.slice(0, 2).map((e) => e.status)).toEqual(['created', 'running']);
      expect(events.at(-1)).toMatchObject({ status: 'cancelled', error: { code: 'Cancelled' } });
      await new Promise((r) => setTimeout(r, 1000));
      const after = await eventsOf(jobId);
      expect(after.filter((e) => e.status === 'cancelled' || e.status === 'failed' || e.status === 'succeeded')).toHaveLength(1);
      expect(after.at(-1)!.status).toBe('cancelled');
    } finally {
      await disarm();
    }
  });
});
