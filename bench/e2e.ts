/**
 * End to end: CreateImageFromMachine on the embedded local stack (in this process, as `npm start`
 * runs it) for a 256 MiB disk of realistic content, from POST to `active`; and, as the reference,
 * the pipeline alone on the same disk between the same local S3 buckets. The ratio is the overhead
 * of API + workflow + DynamoDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { startLocalStack } from '../local/stack';
import { adminOps } from '../local/admin-ops';
import { buildImageFile, createS3MultipartSink } from '../lambdas/pipeline';
import { config, disposeClients, s3Client } from '../lambdas/wiring';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { BenchRow } from './pipeline';

const MiB = 1024 * 1024;

export async function run(opts: { quick?: boolean; sizeMiB?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const sizeMiB = opts.sizeMiB ?? (opts.quick ? 64 : 256);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-e2e-'));
  const stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data') });
  try {
    const login = `bench${Date.now().toString(36)}`;
    const account = await adminOps.createAccount(login);
    const auth = await benchAuth(login);
    const disk = path.join(dir, 'disk.raw');
    await writeDiskFile(disk, sizeMiB * MiB, 20240517);
    const machine = await adminOps.registerMachine({ login, name: 'bench', os: 'linux', type: 'zvol', diskFile: disk });
    log(`[e2e] ${sizeMiB} MiB disk registered for ${account.login}`);

    const t0 = performance.now();
    const res = await fetch(`${stack.url}/${login}/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ machine: machine.id, name: 'bench', version: '1.0.0' }),
    });
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const createdMs = performance.now() - t0;
    let state = 'creating';
    while (state === 'creating') {
      await new Promise((r) => setTimeout(r, 100));
      const img = (await (await fetch(`${stack.url}/${login}/images/${id}`, { headers: auth })).json()) as { state: string };
      state = img.state;
    }
    const e2eS = (performance.now() - t0) / 1000;
    if (state !== 'active') throw new Error(`the image ended ${state}`);
    log(`[e2e] POST answered in ${createdMs.toFixed(0)} ms; active after ${e2eS.toFixed(2)} s`);

    // The pipeline alone, same disk, same buckets, same process.
    const s3 = s3Client();
    const t1 = performance.now();
    const object = await s3.send(new GetObjectCommand({ Bucket: config.disksBucket(), Key: machine.disks[0].key }));
    await buildImageFile({
      source: object.Body as Readable,
      sourceSize: machine.disks[0].size,
      compression: 'gzip',
      sink: createS3MultipartSink({ client: s3, bucket: config.imagesBucket(), key: `bench/${id}.gz` }),
    });
    const pipelineS = (performance.now() - t1) / 1000;
    log(`[e2e] pipeline alone: ${pipelineS.toFixed(2)} s`);
    return [
      {
        bench: 'e2e',
        case: `create → active, ${sizeMiB} MiB gzip`,
        figure: Math.round(e2eS * 100) / 100,
        unit: 's',
        reference: 'pipeline alone, S3 → S3',
        referenceFigure: Math.round(pipelineS * 100) / 100,
      },
      { bench: 'e2e', case: 'POST /images answer', figure: Math.round(createdMs), unit: 'ms' },
    ];
  } finally {
    disposeClients();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Headers that authenticate as `login` (empty while the local stack names the caller by path). */
async function benchAuth(login: string): Promise<Record<string, string>> {
  const ops = adminOps as unknown as { setPassword?: (login: string, password: string) => Promise<unknown> };
  if (!ops.setPassword) return {};
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  await ops.setPassword(login, password);
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` };
}
