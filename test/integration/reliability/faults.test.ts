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
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import type { FaultRule } from '../../../local/protocol-faults';

jest.setTimeout(180_000);

type Account = Awaited<ReturnType<typeof makeAccount>>;

/** SDK clients make 3 attempts; failing 3 in a row fails the call, so the Task itself fails once. */
const SDK_ATTEMPTS = 3;
const S3_500 = { status: 500, code: 'InternalError' };
const THROTTLED = { status: 400, code: 'ProvisionedThroughputExceededException' };

async function setPlan(rules: FaultRule[]): Promise<void> {
  const res = await fetch(`${stack.env.AWS_ENDPOINT_URL_S3}/--faults`, { method: 'PUT', body: JSON.stringify({ rules }) });
  expect(res.status).toBe(200);
}
async function plan(): Promise<(FaultRule & { matched: number; fired: number })[]> {
  return (
    (await (await fetch(`${stack.env.AWS_ENDPOINT_URL_DYNAMODB}/--faults`)).json()) as {
      rules: (FaultRule & { matched: number; fired: number })[];
    }
  ).rules;
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
  });
  afterEach(() => setPlan([]));

  it('each Task failing once is retried by the workflow: the image still ends active with the right bytes', async () => {
    const { machine, diskBytes: expected } = await makeMachine(alice.login, { size: 6 * 1024 * 1024 + 7 });
    const diskKey = machine.disks[0].key;
    // Hold the build on its first source read until the rules naming the new image are in place.
    const hold: FaultRule = { service: 's3', operation: 'HeadObject', keyPrefix: diskKey, delayMs: 1500, times: 1 };
    await setPlan([hold]);
    const created = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'survivor', version: '1.0.0' });
    expect(created.status).toBe(201);
    const imageId: string = created.body.id;
    const jobId = created.headers.get('x-joyent-jobid')!;
    await setPlan([
      // PrepareSource: the job's move to RUNNING is throttled past the SDK's retries.
      { service: 'dynamodb', operation: 'UpdateItem', bodyIncludes: `JOB#${jobId}`, times: SDK_ATTEMPTS, error: THROTTLED },
      // BuildImageFile: the source read fails (500) past the SDK's retries.
      { service: 's3', operation: 'GetObject', keyPrefix: diskKey, times: SDK_ATTEMPTS, error: S3_500 },
      // Finalize: the image's move to active is throttled past the SDK's retries.
      { service: 'dynamodb', operation: 'UpdateItem', bodyIncludes: `IMAGE#${imageId}"`, times: SDK_ATTEMPTS, error: THROTTLED },
    ]);
    const done = await poll(
      () => api('GET', `/${alice.login}/images/${imageId}`),
      (r) => r.body.state !== 'creating',
    );
    expect(done.body.state).toBe('active');
    const fired = (await plan()).map((r) => r.fired);
    expect(fired).toEqual([SDK_ATTEMPTS, SDK_ATTEMPTS, SDK_ATTEMPTS]);
    const job = await api('GET', `/${alice.login}/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'SUCCESS' });
    const file = await fetch((await api('GET', `/${alice.login}/images/${imageId}/file`)).headers.get('location')!);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(done.body.files[0].sha1);
    expect(gunzipSync(bytes).equals(expected())).toBe(true);
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
    // Every UploadPart from the 2nd on (16 MiB parts) answers 500: the upload is open when it fails.
    await setPlan([{ service: 's3', operation: 'UploadPart', keyPrefix: `images/${imageId}/`, nth: 2, times: 0, error: S3_500 }]);
    const done = await poll(
      () => api('GET', `/${alice.login}/images/${imageId}`),
      (r) => r.body.state !== 'creating',
    );
    expect(done.body.state).toBe('failed');
    expect(done.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    const job = await api('GET', `/${alice.login}/jobs/${created.headers.get('x-joyent-jobid')}`);
    expect(job.body.status).toBe('FAIL');
    expect((await plan())[0].fired).toBeGreaterThan(0);
    await setPlan([]);
    expect(await objectsUnder(`images/${imageId}/`)).toEqual({ objects: 0, uploads: 0 });
    const after = await api('GET', `/${alice.login}/machines/${machine.id}`);
    expect(after.body.state).toBe(machine.state);
    expect((await diskBytes(diskKey)).equals(before)).toBe(true);
  });
});
