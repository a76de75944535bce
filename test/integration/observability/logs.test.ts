/**
 * What the handlers log, read as CloudWatch Logs would receive it: every line every handler writes
 * (stdout and stderr) during a run of real requests, captured by the local Lambda runtime
 * (local/lambda.ts `captureLambdaLogs`) — the loggers are the real ones, at DEBUG.
 *
 * - No secret reaches a log line: Basic passwords, API tokens (sent and issued), AK/SK secret keys
 *   and signatures, HTTP Signature signatures, presigned URLs' signatures.
 * - The correlation id given as X-Request-Id is in the job record, in the execution's input, and on
 *   every line the build's workflow tasks write — the chunked path's too, every BuildRange iteration of
 *   the Map included (this stack chunks disks from 8 MiB into 5 MiB ranges).
 * - The metrics contract (lambdas/observability/powertools.ts) as EMF: ImagesCreated, BuildBytes,
 *   BuildSeconds with {service}; AuthFailures with {service, Scheme} for each scheme.
 * - A failed login is logged with its scheme, reason and source address.
 *
 * This file runs its own local stack in-process (as limits.test.ts does), so the capture sees this
 * file's requests only and the log level can be DEBUG.
 */
import './debug-level';
import { logger } from '../../../lambdas/observability/powertools';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { LOCAL_NAMES, startLocalStack, type LocalStack } from '../../../local/stack';
import { captureLambdaLogs, type LambdaLogLine } from '../../../local/lambda';
import { disposeClients, imageRepository, jobRepository } from '../../../lambdas/wiring';
import { makeAccount, makeAksk, makeKey, makeMachine, makeToken } from '../../helpers/fixtures';
import { basicAuthorization, huaweiSignedHeaders, signatureHeaders } from '../../helpers/credentials';

/** Small disks build in one invocation; from 8 MiB they build in 5 MiB ranges (S3's smallest part). */
const CHUNKING = {
  thresholdBytes: 8 * 1024 * 1024,
  rangeBytes: 5 * 1024 * 1024,
  hashBytesPerInvocation: 32 * 1024 * 1024,
  maxConcurrency: 4,
};

let stack: LocalStack;
let dir: string;
let sfn: SFNClient;
const lines: LambdaLogLine[] = [];
let stopCapture: () => void;
const previousLevel = process.env.POWERTOOLS_LOG_LEVEL;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG'; // read by the handlers' loggers when they load
  dir = mkdtempSync(path.join(tmpdir(), 'logs-'));
  stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data'), chunking: CHUNKING });
  sfn = new SFNClient({ endpoint: stack.endpoints.sfn, region: LOCAL_NAMES.region });
  stopCapture = captureLambdaLogs((line) => lines.push(line), { passThrough: false });
}, 120_000);

afterAll(async () => {
  stopCapture?.();
  sfn?.destroy();
  disposeClients();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
  if (previousLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
  else process.env.POWERTOOLS_LOG_LEVEL = previousLevel;
}, 30_000);

async function call(method: string, urlPath: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${stack.url}${urlPath}`, {
    method,
    redirect: 'manual',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, attempts = 300): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await fn();
    if (done(v) || i >= attempts) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const json = (line: LambdaLogLine): Record<string, any> | undefined => {
  try {
    const v = JSON.parse(line.text);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
};

/** The EMF documents among the captured lines: one entry per metric name, with its dimensions. */
function emfMetrics(): Array<{ name: string; unit: string; namespace: string; dimensions: string[]; values: Record<string, unknown> }> {
  const out = [];
  for (const line of lines) {
    const doc = json(line);
    const meta = doc?._aws?.CloudWatchMetrics?.[0];
    if (!meta) continue;
    for (const m of meta.Metrics)
      out.push({ name: m.Name, unit: m.Unit, namespace: meta.Namespace, dimensions: meta.Dimensions[0], values: doc! });
  }
  return out;
}

describe('handler logs over a run of real requests', () => {
  it('hold no secret, carry the correlation id into the workflow, and publish the metrics contract', async () => {
    const alice = await makeAccount('logs');
    const secrets: string[] = [alice.password];
    const basic = { authorization: basicAuthorization(alice) };

    // Basic: accepted, then a wrong password (a failed login)
    const wrongPassword = 'Wr0ng-Pa55word-Never-Logged';
    secrets.push(wrongPassword);
    expect((await call('GET', `/${alice.login}/images`, basic)).status).toBe(200);
    expect(
      (await call('GET', `/${alice.login}/images`, { authorization: basicAuthorization({ login: alice.login, password: wrongPassword }) }))
        .status,
    ).toBe(401);

    // Tokens: one issued over the API (its answer holds it), one from the admin; a bogus one
    const issued = await call('POST', `/${alice.login}/tokens`, basic, {});
    expect(issued.status).toBeLessThan(300);
    const issuedToken = String(issued.body.token ?? issued.body.id ?? '');
    expect(issuedToken.length).toBeGreaterThan(10);
    const adminToken = await makeToken(alice.login);
    const bogusToken = 'bogus-token-0123456789abcdef0123456789abcdef';
    secrets.push(issuedToken, adminToken, bogusToken);
    expect((await call('GET', `/${alice.login}/images`, { 'x-auth-token': adminToken })).status).toBe(200);
    expect((await call('GET', `/${alice.login}/images`, { authorization: `Bearer ${issuedToken}` })).status).toBe(200);
    expect((await call('GET', `/${alice.login}/images`, { 'x-auth-token': bogusToken })).status).toBe(401);

    // AK/SK: a signed GET, then one signed with a wrong SK
    const aksk = await makeAksk(alice.login);
    secrets.push(aksk.sk);
    const imsPath = '/v2/cloudimages';
    const signed = huaweiSignedHeaders({ baseUrl: stack.url, method: 'GET', path: imsPath, aksk });
    secrets.push(/Signature=([0-9a-f]+)/i.exec(signed.Authorization ?? signed.authorization)![1]);
    expect((await call('GET', imsPath, signed)).status).toBe(200);
    const wrongSk = huaweiSignedHeaders({
      baseUrl: stack.url,
      method: 'GET',
      path: imsPath,
      aksk: { ...aksk, sk: 'wrong-secret-key-never-logged-0123456789' },
    });
    secrets.push('wrong-secret-key-never-logged-0123456789');
    expect((await call('GET', imsPath, wrongSk)).status).toBe(401);

    // HTTP Signature: accepted, then tampered
    const key = await makeKey(alice.login);
    const sig = signatureHeaders({ method: 'GET', pathAndQuery: `/${alice.login}/images`, login: alice.login, key });
    const signature = /signature="([^"]+)"/.exec(sig.authorization)![1];
    secrets.push(signature);
    expect((await call('GET', `/${alice.login}/images`, sig)).status).toBe(200);
    const tampered = {
      ...sig,
      authorization: sig.authorization.replace(/signature="(.)/, (_, c) => `signature="${c === 'A' ? 'B' : 'A'}`),
    };
    expect((await call('GET', `/${alice.login}/images`, tampered)).status).toBe(401);

    // A build with our correlation id, then the image file's presigned URL
    const correlationId = `it-logs-${Date.now()}`;
    const { machine } = await makeMachine(alice.login, { size: 256 * 1024 });
    const created = await call(
      'POST',
      `/${alice.login}/images`,
      { ...basic, 'x-request-id': correlationId },
      { machine: machine.id, name: 'logged', version: '1.0.0' },
    );
    expect(created.status).toBe(201);
    const done = await until(
      () => call('GET', `/${alice.login}/images/${created.body.id}`, basic),
      (r) => r.body?.state !== 'creating',
    );
    expect(done.body.state).toBe('active');
    const file = await call('GET', `/${alice.login}/images/${created.body.id}/file`, basic);
    expect(file.status).toBe(302);
    const location = new URL(file.headers.get('location')!);
    const urlSignature = location.searchParams.get('X-Amz-Signature') ?? location.searchParams.get('Signature');
    expect(urlSignature).toBeTruthy();
    secrets.push(urlSignature!);
    await stack.waitForIdle();

    // --- the job and the execution carry the correlation id
    const image = await imageRepository().get(created.body.id);
    const jobId = image!.job_id!;
    const job = await jobRepository().get(jobId);
    expect(job?.correlation_id).toBe(correlationId);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: job!.execution_arn! }));
    expect(JSON.parse(execution.input!).correlationId).toBe(correlationId);

    expect(logger.getLevelName()).toBe('DEBUG');
    // --- no secret in any line (nor its base64 form, nor a Basic header)
    expect(lines.length).toBeGreaterThan(20);
    const leaks = [];
    for (const secret of secrets) {
      const forms = [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret)];
      for (const line of lines)
        if (forms.some((f) => line.text.includes(f))) leaks.push({ secret: `${secret.slice(0, 6)}…`, line: line.text.slice(0, 300) });
    }
    expect(leaks).toEqual([]);
    expect(
      lines.filter((l) => /authorization"?\s*:|x-auth-token"?\s*:|Basic [A-Za-z0-9+/=]{8,}/i.test(l.text)).map((l) => l.text.slice(0, 200)),
    ).toEqual([]);

    // --- every workflow task of the build logs the correlation id (and the request lines too)
    const taskLines = lines.map(json).filter((d) => d?.task && d.job_id === jobId);
    const tasks = new Set(taskLines.map((d) => d!.task));
    for (const task of ['PrepareSource', 'BuildImageFile', 'Finalize']) expect(tasks).toContain(task);
    expect(taskLines.every((d) => d!.correlation_id === correlationId)).toBe(true);
    expect(taskLines.every((d) => typeof d!.function_request_id === 'string' && typeof d!.function_name === 'string')).toBe(true);
    const requestLine = lines.map(json).find((d) => d?.message === 'request' && d.operation === 'CreateImageFromMachine');
    expect(requestLine).toMatchObject({ correlation_id: correlationId, status: 201, service: 'machine-image-service' });

    // --- the failed logins: scheme, reason and source, per scheme
    const failures = lines.map(json).filter((d) => d?.message === 'authentication failed');
    expect(new Set(failures.map((d) => d!.scheme))).toEqual(new Set(['basic', 'token', 'aksk', 'signature']));
    for (const f of failures) {
      expect(typeof f!.reason).toBe('string');
      expect(f!.reason.length).toBeGreaterThan(0);
      expect(typeof f!.source).toBe('string');
    }

    // --- the metrics contract
    const metrics = emfMetrics();
    for (const m of metrics) expect(m.namespace).toBe('MachineImageService');
    const byName = (name: string) => metrics.filter((m) => m.name === name);
    expect(byName('ImagesCreated')).toEqual([
      expect.objectContaining({
        unit: 'Count',
        dimensions: ['service'],
        values: expect.objectContaining({ service: 'machine-image-service', ImagesCreated: 1 }),
      }),
    ]);
    expect(byName('BuildBytes')).toEqual([
      expect.objectContaining({
        unit: 'Bytes',
        dimensions: ['service'],
        values: expect.objectContaining({ BuildBytes: done.body.files[0].size }),
      }),
    ]);
    expect(byName('BuildSeconds')).toEqual([expect.objectContaining({ unit: 'Seconds', dimensions: ['service'] })]);
    const authFailures = byName('AuthFailures');
    for (const m of authFailures) expect(m).toMatchObject({ unit: 'Count', dimensions: ['service', 'Scheme'] });
    expect(new Set(authFailures.map((m) => m.values.Scheme))).toEqual(new Set(['basic', 'token', 'aksk', 'signature']));
  }, 120_000);

  it('carry the correlation id into every range of a chunked build (the Map iterations)', async () => {
    const bob = await makeAccount('logs-chunked');
    const basic = { authorization: basicAuthorization(bob) };
    const correlationId = `it-chunked-${Date.now()}`;
    const size = 2 * CHUNKING.rangeBytes + 12345; // three ranges
    const { machine } = await makeMachine(bob.login, { size });
    const created = await call(
      'POST',
      `/${bob.login}/images`,
      { ...basic, 'x-request-id': correlationId },
      { machine: machine.id, name: 'chunked', version: '1.0.0' },
    );
    expect(created.status).toBe(201);
    const done = await until(
      () => call('GET', `/${bob.login}/images/${created.body.id}`, basic),
      (r) => r.body?.state !== 'creating',
    );
    expect(done.body.state).toBe('active');
    await stack.waitForIdle();

    const jobId = (await imageRepository().get(created.body.id))!.job_id!;
    const taskLines = lines.map(json).filter((d) => d?.task && d.job_id === jobId);
    const tasks = new Set(taskLines.map((d) => d!.task));
    for (const task of ['PrepareSource', 'StartRanges', 'BuildRange', 'AssembleFile', 'HashFile', 'Finalize'])
      expect(tasks).toContain(task);
    expect(tasks).not.toContain('BuildImageFile');
    // one line per range (at least: a retried range logs again), each with the request's correlation id
    const rangeLines = taskLines.filter((d) => d!.task === 'BuildRange' && d!.message === 'task');
    expect(rangeLines.length).toBeGreaterThanOrEqual(3);
    expect(rangeLines.map((d) => d!.correlation_id)).toEqual(rangeLines.map(() => correlationId));
    expect(taskLines.every((d) => d!.correlation_id === correlationId)).toBe(true);
  }, 120_000);
});
