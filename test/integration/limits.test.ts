/**
 * AWS's limits and the stuck-work rule through the real local stack, end to end. This file runs its
 * own local stack in-process with every time limit scaled by 0.1 (LocalStackOptions.timeScale: route
 * functions 3 s behind a 2.9 s integration timeout, PrepareSource 3 s, BuildImageFile 90 s) and
 * holds requests in its DynamoDB and S3 servers (local/latency.ts) — the shared stack of the run
 * cannot be slowed down without slowing down everyone's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { LOCAL_NAMES, startLocalStack, type LocalStack } from '../../local/stack';
import { gatewayResponseBody } from '../../lib/gateway-responses';
import { config, disposeClients, imageRepository, jobRepository, s3Client } from '../../lambdas/wiring';
import { makeAccount, makeMachine, makeToken } from '../helpers/fixtures';

const TIME_SCALE = 0.1;
let stack: LocalStack;
let dir: string;
let sfn: SFNClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'limits-'));
  // also points this file's SDK clients (wiring, fixtures) at this stack
  stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data'), timeScale: TIME_SCALE });
  sfn = new SFNClient({ endpoint: stack.endpoints.sfn, region: LOCAL_NAMES.region });
}, 120_000);

afterAll(async () => {
  sfn?.destroy();
  disposeClients();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

afterEach(() => {
  stack.latency.dynamodb.clear();
  stack.latency.s3.clear();
});

const tokens = new Map<string, Promise<string>>();

async function call(method: string, urlPath: string, auth: { login: string }, body?: unknown) {
  // A token, not the password: a password check (scrypt at N=2^17) could outlast the authorizer's 3 s here.
  if (!tokens.has(auth.login)) tokens.set(auth.login, makeToken(auth.login));
  const res = await fetch(`${stack.url}${urlPath}`, {
    method,
    headers: {
      authorization: `Bearer ${await tokens.get(auth.login)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const imagesUnder = async (imageId: string) => {
  const Bucket = config.imagesBucket();
  const Prefix = `images/${imageId}/`;
  const objects = await s3Client().send(new ListObjectsV2Command({ Bucket, Prefix }));
  const uploads = await s3Client().send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
  return { objects: objects.Contents?.length ?? 0, uploads: uploads.Uploads?.length ?? 0 };
};

const executionArnOf = (jobId: string) => `${LOCAL_NAMES.stateMachineArn.replace(':stateMachine:', ':execution:')}:${jobId}`;

describe('the local stack enforces AWS limits (scaled by 0.1)', () => {
  it('answers 504 with the INTEGRATION_TIMEOUT body when a route outlasts the integration timeout', async () => {
    const account = await makeAccount('slow');
    // ListImages queries the table; the authorizer only gets items, so only the route is slowed down
    stack.latency.dynamodb.delay({ match: (req) => req.headers['x-amz-target'] === 'DynamoDB_20120810.Query', delayMs: 5_000, times: 1 });

    const res = await call('GET', `/${account.login}/images`, account);

    expect(res.status).toBe(504);
    expect(res.body).toEqual(gatewayResponseBody('INTEGRATION_TIMEOUT', res.body.request_id));
    // the same request without the slow backend is fine
    expect((await call('GET', `/${account.login}/images`, account)).status).toBe(200);
  }, 30_000);

  it("fails a build whose task outlives its function's timeout with Sandbox.Timedout, through the workflow's Catch path", async () => {
    const account = await makeAccount('tmo');
    const { machine } = await makeMachine(account.login, { size: 1024 * 1024 });
    // PrepareSource (3 s here) waits 5 s on HeadObject of the disk
    stack.latency.s3.delay({
      match: (req) => req.method === 'HEAD' && (req.url ?? '').startsWith(`/${LOCAL_NAMES.disksBucket}/`),
      delayMs: 5_000,
      times: 1,
    });

    const created = await call('POST', `/${account.login}/images`, account, { machine: machine.id, name: 'tmo', version: '1.0.0' });
    expect(created.status).toBe(201);
    await stack.waitForIdle();

    expect(await imageRepository().get(created.body.id)).toMatchObject({
      state: 'failed',
      error: { code: 'Sandbox.Timedout', message: expect.stringMatching(/Task timed out after 3\.00 seconds/) },
    });
    expect(await jobRepository().get(created.headers.get('x-joyent-jobid')!)).toMatchObject({
      status: 'FAIL',
      error_code: 'Sandbox.Timedout',
    });
    expect(await imagesUnder(created.body.id)).toEqual({ objects: 0, uploads: 0 });
  }, 60_000);
});

describe('no stuck work: an execution that ends outside its Catch path', () => {
  it('a build stopped mid-upload (StopExecution) ends failed, its job FAIL, nothing left under its prefix', async () => {
    const account = await makeAccount('stop');
    // 40 MiB stored as is: BuildImageFile opens a multipart upload (16 MiB parts)…
    const { machine } = await makeMachine(account.login, { size: 40 * 1024 * 1024 });
    // …whose parts the images bucket holds for 8 s
    stack.latency.s3.delay({
      match: (req) =>
        req.method === 'PUT' && (req.url ?? '').startsWith(`/${LOCAL_NAMES.imagesBucket}/`) && /[?&]uploadId=/.test(req.url ?? ''),
      delayMs: 8_000,
    });

    const created = await call('POST', `/${account.login}/images`, account, {
      machine: machine.id,
      name: 'stop',
      version: '1.0.0',
      compression: 'none',
    });
    expect(created.status).toBe(201);
    const imageId: string = created.body.id;
    const jobId = created.headers.get('x-joyent-jobid')!;
    for (let i = 0; i < 200 && (await imagesUnder(imageId)).uploads === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await imagesUnder(imageId)).uploads).toBe(1);

    await sfn.send(new StopExecutionCommand({ executionArn: executionArnOf(jobId) }));
    await stack.waitForIdle(); // the status event's delivery, and the stopped task's late end

    expect(await imageRepository().get(imageId)).toMatchObject({ state: 'failed', error: { code: 'Aborted' } });
    expect(await jobRepository().get(jobId)).toMatchObject({ status: 'FAIL', error_code: 'Aborted' });
    expect(await imagesUnder(imageId)).toEqual({ objects: 0, uploads: 0 });
  }, 90_000);
});
