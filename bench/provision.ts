/**
 * Provisioning throughput: CreateMachine on the embedded local stack (in this process) from the image
 * of a disk of realistic content, from POST to `running` (the provisioning workflow expands the gzip
 * file into the new disk); as the reference, the expansion alone (the same adapter, same image file,
 * same local S3 buckets). The ratio is the overhead of API + workflow + DynamoDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack } from '../local/stack';
import { adminOps } from '../local/admin-ops';
import { diskProvisioner, disposeClients, imageRepository } from '../lambdas/wiring';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { BenchRow } from './pipeline';

const MiB = 1024 * 1024;

export async function run(opts: { quick?: boolean; sizeMiB?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const sizeMiB = opts.sizeMiB ?? (opts.quick ? 64 : 256);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-provision-'));
  const stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data') });
  try {
    const login = `bench${Date.now().toString(36)}`;
    await adminOps.createAccount(login);
    const password = `bench-${Math.random().toString(36).slice(2)}`;
    await adminOps.setPassword(login, password);
    const headers = {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`,
    };
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${stack.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      // biome-ignore lint/suspicious/noExplicitAny: the bench reads a few known fields of each answer
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const until = async (p: string, busy: string) => {
      for (;;) {
        const r = await call('GET', p);
        if (r.body.state !== busy) return r.body;
        await new Promise((res) => setTimeout(res, 100));
      }
    };

    const disk = path.join(dir, 'disk.raw');
    await writeDiskFile(disk, sizeMiB * MiB, 20240517);
    const machine = await adminOps.registerMachine({ login, name: 'bench', os: 'linux', type: 'zvol', diskFile: disk });
    const image = await call('POST', `/${login}/images`, { machine: machine.id, name: 'bench', version: '1.0.0' });
    if ((await until(`/${login}/images/${image.body.id}`, 'creating')).state !== 'active')
      throw new Error('the image did not become active');
    log(`[provision] image of a ${sizeMiB} MiB disk is active`);

    const t0 = performance.now();
    const created = await call('POST', `/${login}/machines`, { image: image.body.id, package: 'g1-small' });
    if (created.status !== 201) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
    const answeredMs = performance.now() - t0;
    const final = await until(`/${login}/machines/${created.body.id}`, 'provisioning');
    const provisionS = (performance.now() - t0) / 1000;
    if (final.state !== 'running') throw new Error(`the machine ended ${final.state}`);
    log(`[provision] POST answered in ${answeredMs.toFixed(0)} ms; running after ${provisionS.toFixed(2)} s`);

    const file = (await imageRepository().get(image.body.id))!.files[0];
    const t1 = performance.now();
    await diskProvisioner().expandImage(file, `bench/${created.body.id}.raw`);
    const aloneS = (performance.now() - t1) / 1000;
    log(`[provision] expansion alone: ${aloneS.toFixed(2)} s`);
    const mibps = (s: number) => Math.round((sizeMiB / s) * 10) / 10;
    return [
      {
        bench: 'provision',
        case: `create machine → running, ${sizeMiB} MiB disk (gzip image)`,
        figure: mibps(provisionS),
        unit: 'MiB/s',
        reference: 'expansion alone, S3 → S3',
        referenceFigure: mibps(aloneS),
      },
      { bench: 'provision', case: 'POST /machines answer', figure: Math.round(answeredMs), unit: 'ms' },
    ];
  } finally {
    disposeClients();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
