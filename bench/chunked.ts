/**
 * Chunked builds against today's single-invocation path, one run, the same disk (2 GiB of realistic
 * content; 256 MiB with --quick, or BENCH_CHUNKED_MIB): create → `active` on an embedded local stack whose threshold keeps
 * the disk on the single path, then on one whose threshold sends it through ranges (the default
 * 256 MiB ranges (an eighth of a smaller disk), MaxConcurrency 2: this machine's two cores are what the ranges share; on AWS each
 * range has its own function). The ratio is chunked / single wall time on one machine, i.e. the cost
 * of cutting, padding, assembling and the separate hash pass when nothing runs in parallel.
 *
 * Then the two inputs of README's cost model, each measured alone in this process (2 cores, like a
 * 3,538 MB function): one BuildRange invocation (source MiB/s) and one HashFile invocation over the
 * whole stored file (file MiB/s), with Node's sha256 alone on the same bytes as its reference.
 */
import { createHash, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { startLocalStack } from '../local/stack';
import { adminOps } from '../local/admin-ops';
import { config, disposeClients, imageRepository, jobRepository, s3Client } from '../lambdas/wiring';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { ChunkingSettings, RangeTask } from '../lambdas/workflow/chunked';
import { DEFAULT_CHUNKING } from '../lambdas/workflow/chunked';
import type { BenchRow } from './pipeline';
import { invokeLocal } from '../local/lambda';

const MiB = 1024 * 1024;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

interface BuildRun {
  seconds: number;
  imageId: string;
  jobId: string;
  file: { size: number; sha256: string };
  machine: { id: string; disks: { key: string; size: number }[] };
}

async function buildOnStack(
  chunking: Partial<ChunkingSettings>,
  diskFile: string,
  dir: string,
  log: (s: string) => void,
  label: string,
): Promise<BuildRun & { close: () => Promise<void> }> {
  const stack = await startLocalStack({ port: 0, dataDir: path.join(dir, `data-${label}`), chunking });
  const login = `bench${label}${Date.now().toString(36)}`;
  await adminOps.createAccount(login);
  const password = `bench-${randomUUID()}`;
  await adminOps.setPassword(login, password);
  const auth = { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` };
  const machine = await adminOps.registerMachine({ login, name: 'bench', os: 'linux', type: 'zvol', diskFile });
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/${login}/images`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ machine: machine.id, name: 'bench', version: '1.0.0' }),
  });
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
  const imageId = ((await res.json()) as { id: string }).id;
  const jobId = res.headers.get('x-joyent-jobid')!;
  let image: { state: string; files: { size: number; sha256: string }[]; error?: unknown } = { state: 'creating', files: [] };
  while (image.state === 'creating') {
    await new Promise((r) => setTimeout(r, 100));
    image = (await (await fetch(`${stack.url}/${login}/images/${imageId}`, { headers: auth })).json()) as typeof image;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (image.state !== 'active') throw new Error(`[${label}] the image ended ${image.state}: ${JSON.stringify(image.error)}`);
  log(`[chunked] ${label}: active after ${seconds.toFixed(1)} s, file ${(image.files[0].size / MiB).toFixed(0)} MiB`);
  return { seconds, imageId, jobId, file: image.files[0], machine, close: () => stack.close() };
}

const ROOT = path.resolve(__dirname, '..');

/** Runs one path in a fresh process (each starts its own local stack: SDK clients are per process). */
function runChild(pathName: 'single' | 'chunked', diskFile: string, sizeMiB: number): BenchRow[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-chunked-child-'));
  const out = path.join(dir, 'rows.json');
  try {
    const res = spawnSync(
      process.execPath,
      [
        '--openssl-legacy-provider',
        path.join(ROOT, 'scripts', 'run-ts.mjs'),
        path.join(ROOT, 'bench', 'main.ts'),
        '--child=chunked',
        `--out=${out}`,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        cwd: ROOT,
        env: { ...process.env, BENCH_CHUNKED_PATH: pathName, BENCH_CHUNKED_DISK: diskFile, BENCH_CHUNKED_MIB: String(sizeMiB) },
      },
    );
    if (res.status !== 0) throw new Error(`chunked bench, ${pathName} path, failed (exit ${res.status})`);
    return JSON.parse(readFileSync(out, 'utf8')) as BenchRow[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: { quick?: boolean; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const sizeMiB = Number(process.env.BENCH_CHUNKED_MIB ?? (opts.quick ? 256 : 2048));
  const child = process.env.BENCH_CHUNKED_PATH as 'single' | 'chunked' | undefined;
  if (child) return runPath(child, process.env.BENCH_CHUNKED_DISK!, sizeMiB, log);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-chunked-'));
  try {
    const diskFile = path.join(dir, 'disk.raw');
    await writeDiskFile(diskFile, sizeMiB * MiB, 20240517);
    log(`[chunked] ${sizeMiB} MiB disk written`);
    const [single] = runChild('single', diskFile, sizeMiB);
    const [chunked, ...rest] = runChild('chunked', diskFile, sizeMiB);
    return [{ ...chunked, reference: 'single invocation, same disk', referenceFigure: single.figure }, ...rest];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPath(which: 'single' | 'chunked', diskFile: string, sizeMiB: number, log: (s: string) => void): Promise<BenchRow[]> {
  // the default range size, or an eighth of a smaller (quick) disk so it still makes 8 ranges
  const rangeBytes = Math.min(DEFAULT_CHUNKING.rangeBytes, Math.max(8, Math.floor(sizeMiB / 8)) * MiB);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-chunked-stack-'));
  try {
    if (which === 'single') {
      const single = await buildOnStack({ thresholdBytes: 2 ** 50 }, diskFile, dir, log, 'single');
      await single.close();
      return [{ bench: 'chunked', case: 'single', figure: round(single.seconds, 1), unit: 's' }];
    }
    const chunked = await buildOnStack(
      { thresholdBytes: Math.min(sizeMiB * MiB, DEFAULT_CHUNKING.thresholdBytes), rangeBytes, maxConcurrency: 2 },
      diskFile,
      dir,
      log,
      'chunked',
    );
    try {
      const ranges = Math.ceil((sizeMiB * MiB) / rangeBytes);

      // One range alone: a fresh upload, a RUNNING job for its progress reports.
      const s3 = s3Client();
      const Bucket = config.imagesBucket();
      const Key = `bench/${randomUUID()}/range`;
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const jobId = randomUUID();
      const now = new Date().toISOString();
      await jobRepository().create({
        id: jobId,
        owner: 'bench',
        type: 'CreateImageFromMachine',
        status: 'RUNNING',
        progress: 0,
        entities: { image_id: chunked.imageId },
        created_at: now,
        begin_time: now,
        rev: 1,
      });
      const task: RangeTask = {
        imageId: chunked.imageId,
        jobId,
        index: 0,
        source: { bucket: 'disks', key: chunked.machine.disks[0].key, label: 'bench disk' },
        prepared: { size: chunked.machine.disks[0].size },
        size: chunked.machine.disks[0].size,
        compression: 'gzip',
        upload: { key: Key, uploadId: upload.UploadId!, rangeBytes, ranges },
        correlationId: null,
      };
      const buildRange = (await import('../lambdas/workflow/tasks/build-range')).handler;
      const t0 = performance.now();
      // through the local Lambda runtime (a Lambda context; 15 minutes as the stack gives it)
      await invokeLocal({ name: 'BuildRange', timeoutMs: 900_000, memoryMb: 3538, load: () => buildRange }, task);
      const rangeS = (performance.now() - t0) / 1000;
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId! }));
      const rangeMiBs = Math.min(rangeBytes, sizeMiB * MiB) / MiB / rangeS;
      log(`[chunked] one BuildRange of ${rangeBytes / MiB} MiB: ${rangeS.toFixed(2)} s (${rangeMiBs.toFixed(0)} MiB/s of source)`);

      // The hash pass alone over the whole stored file, and Node's sha256 over the same bytes.
      const image = await imageRepository().get(chunked.imageId);
      const fileKey = image!.files[0].key;
      const hashFile = (await import('../lambdas/workflow/tasks/hash-file')).handler;
      const t1 = performance.now();
      const hashed = (await invokeLocal(
        { name: 'HashFile', timeoutMs: 900_000, memoryMb: 1769, load: () => hashFile },
        {
          jobId,
          imageId: chunked.imageId,
          owner: 'bench',
          source: task.source as never,
          target: { compression: 'gzip', format: 'raw' } as never,
          chunking: { rangeBytes, hashBytesPerInvocation: 2 ** 50 },
          assembled: {
            size: chunked.file.size,
            etag: (await s3.send(new GetObjectCommand({ Bucket, Key: fileKey, Range: 'bytes=0-0' }))).ETag!,
            parts: ranges,
          },
        },
      )) as Awaited<ReturnType<typeof hashFile>>;
      const hashS = (performance.now() - t1) / 1000;
      if (hashed.file?.sha256 !== chunked.file.sha256) throw new Error('the hash pass disagrees with the stored sha256');
      const t2 = performance.now();
      const ref = createHash('sha256');
      for await (const chunk of (await s3.send(new GetObjectCommand({ Bucket, Key: fileKey }))).Body as Readable)
        ref.update(chunk as Buffer);
      ref.digest();
      const nodeS = (performance.now() - t2) / 1000;
      const fileMiB = chunked.file.size / MiB;
      log(`[chunked] HashFile over ${fileMiB.toFixed(0)} MiB: ${hashS.toFixed(2)} s; Node sha256 alone: ${nodeS.toFixed(2)} s`);

      return [
        {
          bench: 'chunked',
          case: `create → active, ${sizeMiB} MiB gzip, ${ranges} ranges of ${rangeBytes / MiB} MiB (MaxConcurrency 2)`,
          figure: round(chunked.seconds, 1),
          unit: 's',
        },
        { bench: 'chunked', case: `one BuildRange, ${rangeBytes / MiB} MiB, alone`, figure: round(rangeMiBs, 0), unit: 'MiB/s of source' },
        {
          bench: 'chunked',
          case: `HashFile (hash-wasm sha1 + sha256) over the ${fileMiB.toFixed(0)} MiB file`,
          figure: round(fileMiB / hashS, 0),
          unit: 'MiB/s',
          reference: 'Node sha256 alone, same bytes from S3',
          referenceFigure: round(fileMiB / nodeS, 0),
        },
        { bench: 'chunked', case: 'gzip file / disk', figure: round(chunked.file.size / (sizeMiB * MiB), 3), unit: '×' },
      ];
    } finally {
      disposeClients(); // the stack's servers close once no client holds a connection
      await chunked.close();
    }
  } finally {
    disposeClients();
    rmSync(dir, { recursive: true, force: true });
  }
}
