/**
 * Storage faults in the middle of a build, injected at the protocol level in the local S3 and
 * DynamoDB servers (local/protocol-faults.ts), never in service code. Every rule is scoped to this test's own
 * machine disk or image, so other test files sharing the stack are untouched.
 *
 * - each workflow Task failing once (its storage calls failing past the SDK's own retries) → the
 *   Task's Retry runs it again and the image still ends `active`, byte-identical;
 * - the image upload failing for good → image `failed` with error{code,message}, job FAIL, zero
 *   objects and zero open multipart uploads under the image's prefix, the machine and its disk unchanged.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import type { FaultRule } from '../../../local/protocol-faults';
import { armS3Fault } from '../../helpers/s3-faults';
import { TEST_CHUNKING } from '../../helpers/global-setup';

// Retried builds wait out Step Functions' retry backoff (2 s, then 4 s, 8 s) besides their work: under
// load they take minutes, which the polls and the test limit allow (results are asserted, never speed).
jest.setTimeout(360_000);
const LONG = { attempts: 1500 };

type Account = Awaited<ReturnType<typeof makeAccount>>;

/**
 * How many attempts the SDK clients of the local stack's handlers make per call (its defaults: the same
 * node_modules): failing that many in a row fails the call, so the Task itself fails once.
 * DynamoDB's default differs from S3's (4 and 3 in current SDKs).
 */
let SDK_ATTEMPTS: number;
let DYNAMO_ATTEMPTS: number;
const S3_500 = { status: 500, code: 'InternalError' };
const THROTTLED = { status: 400, code: 'ProvisionedThroughputExceededException' };

async function setPlan(rules: FaultRule[]): Promise<void> {
  const res = await fetch(`${stack.env.AWS_ENDPOINT_URL_S3}/--faults`, { method: 'PUT', body: JSON.stringify({ rules }) });
  expect(res.status).toBe(200);
}
/** Adds rules to the plan, keeping the counts of those already in it. */
async function addRules(rules: FaultRule[]): Promise<void> {
  const res = await fetch(`${stack.env.AWS_ENDPOINT_URL_DYNAMODB}/--faults`, { method: 'POST', body: JSON.stringify({ rules }) });
  expect(res.status).toBe(200);
}
async function plan(): Promise<(FaultRule & { matched: number; fired: number })[]> {
  return (
    (await (await fetch(`${stack.env.AWS_ENDPOINT_URL_DYNAMODB}/--faults`)).json()) as {
      rules: (FaultRule & { matched: number; fired: number })[];
    }
  ).rules;
}

interface HistoryEntry {
  at: string;
  event: 'failed' | 'retried';
  step: string;
  attempt: number;
  range?: number;
  error?: { code: string; message: string };
}

/**
 * Each step failed its first attempt with a transient storage error (`failed`, attempt 0) and its retry
 * ran (`retried`, attempt 1), in that order; no other step was retried.
 */
function expectRetriedOnce(history: HistoryEntry[], steps: string[]): void {
  expect(history.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
  expect([...new Set(history.map((e) => e.step))].sort()).toEqual([...steps].sort());
  for (const step of steps) {
    const mine = history.filter((e) => e.step === step);
    expect(mine).toEqual([
      expect.objectContaining({ event: 'failed', attempt: 0, error: { code: 'TransientStorageError', message: expect.any(String) } }),
      expect.objectContaining({ event: 'retried', attempt: 1 }),
    ]);
    expect(mine[1]).not.toHaveProperty('error');
  }
}

async function objectsUnder(prefix: string) {
  const Bucket = stack.env.IMAGES_BUCKET;
  const [objects, uploads] = await Promise.all([
    s3().send(new ListObjectsV2Command({ Bucket, Prefix: prefix })),
    s3().send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix })),
  ]);
  return { objects: objects.Contents?.length ?? 0, uploads: uploads.Uploads?.length ?? 0 };
}

async function diskBytes(key: string): Promise<Buffer> {
  const out = await s3().send(new GetObjectCommand({ Bucket: stack.env.DISKS_BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('storage faults during a build', () => {
  let alice: Account;
  beforeAll(async () => {
    alice = await makeAccount('faults');
    const [s3Client, dynamo] = [new S3Client({ region: 'us-east-1' }), new DynamoDBClient({ region: 'us-east-1' })];
    SDK_ATTEMPTS = await s3Client.config.maxAttempts();
    DYNAMO_ATTEMPTS = await dynamo.config.maxAttempts();
    s3Client.destroy();
    dynamo.destroy();
  });
  afterEach(() => setPlan([]));

  it('each Task failing once is retried by the workflow: the image still ends active with the right bytes, the retries in the job history', async () => {
    const { machine, diskBytes: expected } = await makeMachine(alice.login, { size: 6 * 1024 * 1024 + 7 });
    const diskKey = machine.disks[0].key;
    await setPlan([
      // PrepareSource: the source's HeadObject fails (500) past the SDK's retries.
      { service: 's3', operation: 'HeadObject', keyPrefix: diskKey, times: SDK_ATTEMPTS, error: S3_500 },
      // BuildImageFile: the source read fails (500) past the SDK's retries, slowly: the rule below is in place long before Finalize.
      { service: 's3', operation: 'GetObject', keyPrefix: diskKey, times: SDK_ATTEMPTS, error: S3_500, delayMs: 500 },
    ]);
    const created = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'survivor', version: '1.0.0' });
    expect(created.status).toBe(201);
    const imageId: string = created.body.id;
    const jobId = created.headers.get('x-joyent-jobid')!;
    // Finalize: the image's move to active is throttled past the SDK's retries.
    await addRules([
      { service: 'dynamodb', operation: 'UpdateItem', bodyIncludes: `IMAGE#${imageId}"`, times: DYNAMO_ATTEMPTS, error: THROTTLED },
    ]);
    const done = await poll(
      () => api('GET', `/${alice.login}/images/${imageId}`),
      (r) => r.body.state !== 'creating',
      LONG,
    );
    expect(done.body.state).toBe('active');
    const fired = (await plan()).map((r) => r.fired);
    expect(fired).toEqual([SDK_ATTEMPTS, SDK_ATTEMPTS, DYNAMO_ATTEMPTS]);
    const job = await api('GET', `/${alice.login}/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'SUCCESS' });
    expectRetriedOnce(job.body.history, ['PrepareSource', 'BuildImageFile', 'Finalize']);
    const file = await fetch((await api('GET', `/${alice.login}/images/${imageId}/file`)).headers.get('location')!);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(done.body.files[0].sha1);
    expect(gunzipSync(bytes).equals(expected())).toBe(true);
  });

  it('each Task of a chunked build failing once is retried: the image ends active, every retry in the job history (IMS ShowJob too)', async () => {
    const { machine, diskBytes: expected } = await makeMachine(alice.login, { size: TEST_CHUNKING.thresholdBytes + 5 });
    const diskKey = machine.disks[0].key;
    // PrepareSource fails slowly (3 × 1.5 s): the rules naming the new image are in place before StartRanges.
    await setPlan([{ service: 's3', operation: 'HeadObject', keyPrefix: diskKey, times: SDK_ATTEMPTS, error: S3_500, delayMs: 1500 }]);
    const created = await api('POST', `/${alice.login}/images`, {
      machine: machine.id,
      name: 'chunked-survivor',
      version: '1.0.0',
      compression: 'none',
    });
    expect(created.status).toBe(201);
    const imageId: string = created.body.id;
    const jobId = created.headers.get('x-joyent-jobid')!;
    const prefix = `images/${imageId}/`;
    const disarm = await armS3Fault(
      // StartRanges, the 2nd range's BuildRange (part 3), AssembleFile, HashFile: each past the SDK's retries
      { op: 'CreateMultipartUpload', prefix, times: SDK_ATTEMPTS },
      { op: 'UploadPart', prefix, partNumber: 3, times: SDK_ATTEMPTS },
      { op: 'CompleteMultipartUpload', prefix, times: SDK_ATTEMPTS },
      { op: 'GetObject', prefix, times: SDK_ATTEMPTS },
    );
    try {
      await addRules([
        { service: 'dynamodb', operation: 'UpdateItem', bodyIncludes: `IMAGE#${imageId}"`, times: DYNAMO_ATTEMPTS, error: THROTTLED },
      ]);
      const done = await poll(
        () => api('GET', `/${alice.login}/images/${imageId}`),
        (r) => r.body.state !== 'creating',
        LONG,
      );
      expect(done.body.state).toBe('active');
      expect(await disarm.seen()).toBeGreaterThanOrEqual(4 * SDK_ATTEMPTS);
      const job = await api('GET', `/${alice.login}/jobs/${jobId}`);
      expect(job.body).toMatchObject({ status: 'SUCCESS' });
      const history = job.body.history as HistoryEntry[];
      expectRetriedOnce(history, ['PrepareSource', 'StartRanges', 'BuildRange', 'AssembleFile', 'HashFile', 'Finalize']);
      expect(history.filter((e) => e.step === 'BuildRange').map((e) => e.range)).toEqual([1, 1]);
      // IMS ShowJob carries the same history, inside `entities` (our extension)
      const token = await makeToken(alice.login);
      const ims = await api('GET', `/v1/${alice.id}/jobs/${jobId}`, undefined, { headers: { 'x-auth-token': token } });
      expect(ims.status).toBe(200);
      expect(ims.body.entities.history).toEqual(history);
      const file = await fetch((await api('GET', `/${alice.login}/images/${imageId}/file`)).headers.get('location')!);
      expect(Buffer.from(await file.arrayBuffer()).equals(expected())).toBe(true);
    } finally {
      await disarm();
    }
  });

  it('an upload failing for good: image failed with error{code,message}, job FAIL, nothing left under its prefix, the machine untouched', async () => {
    const { machine } = await makeMachine(alice.login, { size: 40 * 1024 * 1024 + 3 });
    const diskKey = machine.disks[0].key;
    const before = await diskBytes(diskKey);
    const hold: FaultRule = { service: 's3', operation: 'HeadObject', keyPrefix: diskKey, delayMs: 1500, times: 1 };
    await setPlan([hold]);
    const created = await api('POST', `/${alice.login}/images`, {
      machine: machine.id,
      name: 'doomed',
      version: '1.0.0',
      compression: 'none',
    });
    expect(created.status).toBe(201);
    const imageId: string = created.body.id;
    await setPlan([
      // Every UploadPart from the 2nd on (16 MiB parts) answers 500: the upload is open when it fails.
      { service: 's3', operation: 'UploadPart', keyPrefix: `images/${imageId}/`, nth: 2, times: 0, error: S3_500 },
      // MarkFailed: the image's move to failed is throttled past the SDK's retries, once.
      { service: 'dynamodb', operation: 'UpdateItem', bodyIncludes: `IMAGE#${imageId}"`, times: DYNAMO_ATTEMPTS, error: THROTTLED },
    ]);
    const done = await poll(
      () => api('GET', `/${alice.login}/images/${imageId}`),
      (r) => r.body.state !== 'creating',
      LONG,
    );
    expect(done.body.state).toBe('failed');
    expect(done.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    const job = await api('GET', `/${alice.login}/jobs/${created.headers.get('x-joyent-jobid')}`);
    expect(job.body.status).toBe('FAIL');
    expect((await plan()).map((r) => r.fired > 0)).toEqual([true, true]);
    // BuildImageFile: its first attempt and each of its 3 retries failed, each retry recorded; MarkFailed retried once.
    const history = job.body.history as HistoryEntry[];
    const build = history.filter((e) => e.step === 'BuildImageFile');
    expect(build.map((e) => [e.event, e.attempt])).toEqual([
      ['failed', 0],
      ['retried', 1],
      ['failed', 1],
      ['retried', 2],
      ['failed', 2],
      ['retried', 3],
      ['failed', 3],
    ]);
    expect(build.filter((e) => e.event === 'failed').every((e) => e.error?.code === 'TransientStorageError')).toBe(true);
    expect(history.filter((e) => e.step === 'MarkFailed').map((e) => [e.event, e.attempt])).toEqual([
      ['failed', 0],
      ['retried', 1],
    ]);
    expect(history.map((e) => e.step)).toEqual([...build.map(() => 'BuildImageFile'), 'MarkFailed', 'MarkFailed']);
    await setPlan([]);
    expect(await objectsUnder(`images/${imageId}/`)).toEqual({ objects: 0, uploads: 0 });
    const after = await api('GET', `/${alice.login}/machines/${machine.id}`);
    expect(after.body.state).toBe(machine.state);
    expect((await diskBytes(diskKey)).equals(before)).toBe(true);
  });
});
