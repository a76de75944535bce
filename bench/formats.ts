/**
 * Benchmark of the disk-format writers (lambdas/pipeline/formats) against `qemu-img convert` on the
 * same 1 GiB disk of realistic content (thirds of zeros, text and random bytes; test/helpers/disk-content.ts),
 * in the same run, one run each, alternating ours and qemu-img's per format:
 * - speed: ours = file → writer → file (head written in place at the end), wall clock; the ratio is
 *   qemu-img's time / ours (above 1: we are faster);
 * - size: our file's bytes / qemu-img's for the same format (below 1: ours is smaller).
 * What the ratios depend on: the cores (our deflate runs on every core through libuv's pool; qemu-img
 * deflates qcow2 clusters on its thread pool too, but vmdk grains on one thread), the share of
 * incompressible bytes (we store grains that look random without trying to deflate them: qemu-img
 * tries and keeps the raw cluster), the share of zeros (both skip them), the page cache (the source is
 * read once per case, warm after the first) and other load on the machine.
 *
 * Run: `node scripts/run-ts.mjs bench/formats.ts [--quick] [--size-mib=1024]`, or `npm run bench -- formats`.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWriter, type OutputSpec } from '../lambdas/pipeline/formats';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { BenchRow } from './pipeline';

const MiB = 1024 * 1024;

const CASES: { label: string; spec: OutputSpec; qemu: string[]; fmt: string }[] = [
  { label: 'qcow2', spec: { format: 'qcow2' }, qemu: ['-O', 'qcow2'], fmt: 'qcow2' },
  { label: 'qcow2 compressed', spec: { format: 'qcow2', compressed: true }, qemu: ['-c', '-O', 'qcow2'], fmt: 'qcow2' },
  { label: 'vmdk streamOptimized', spec: { format: 'vmdk', subformat: 'streamOptimized' }, qemu: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], fmt: 'vmdk' },
  { label: 'vmdk monolithicSparse', spec: { format: 'vmdk', subformat: 'monolithicSparse' }, qemu: ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'], fmt: 'vmdk' },
  { label: 'vhd dynamic', spec: { format: 'vhd', subformat: 'dynamic' }, qemu: ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'], fmt: 'vpc' },
  { label: 'vhd fixed', spec: { format: 'vhd', subformat: 'fixed' }, qemu: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'], fmt: 'vpc' },
];

async function ours(spec: OutputSpec, source: string, size: number, out: string): Promise<{ seconds: number; bytes: number; peakRss: number }> {
  const start = process.hrtime.bigint();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const writer = createWriter(spec, { virtualSize: size });
  const fd = openSync(out, 'w');
  let bytes = 0;
  // writes of up to 4 MiB, as a sink's part buffers (s3-sink.ts) and qemu-img's own writes are
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pendingBytes > 0) writeSync(fd, pending.length === 1 ? pending[0] : Buffer.concat(pending));
    pending.length = 0;
    pendingBytes = 0;
  };
  try {
    for await (const b of writer.write(createReadStream(source, { highWaterMark: MiB }))) {
      pending.push(b);
      pendingBytes += b.length;
      bytes += b.length;
      if (pendingBytes >= 4 * MiB) flush();
    }
    flush();
    if (writer.headSize > 0) writeSync(fd, writer.head(), 0, writer.headSize, 0);
  } finally {
    closeSync(fd);
    clearInterval(sampler);
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes, peakRss };
}

function qemuImg(args: string[], source: string, out: string): { seconds: number; bytes: number } {
  const start = process.hrtime.bigint();
  execFileSync('qemu-img', ['convert', '-f', 'raw', ...args, source, out], { stdio: 'ignore' });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes: statSync(out).size };
}

export async function run(opts: { quick?: boolean; sizeMiB?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = opts.sizeMiB ?? (opts.quick ? 128 : 1024);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-formats-'));
  const rows: BenchRow[] = [];
  try {
    const source = path.join(dir, 'disk.raw');
    const size = sizeMiB * MiB;
    await writeDiskFile(source, size, 42);
    qemuImg(['-O', 'raw'], source, path.join(dir, 'warm.raw')); // page cache warm for both
    rmSync(path.join(dir, 'warm.raw'));
    for (const c of CASES) {
      const a = path.join(dir, 'ours.out');
      const b = path.join(dir, 'qemu.out');
      const mine = await ours(c.spec, source, size, a);
      const ref = qemuImg(c.qemu, source, b);
      // sanity: the file is the disk (not timed)
      execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', c.fmt, source, a], { stdio: 'ignore' });
      rmSync(a);
      rmSync(b);
      const mibps = (s: number) => Math.round((sizeMiB / s) * 10) / 10;
      rows.push({
        bench: 'formats',
        case: `${c.label}, ${sizeMiB} MiB mixed disk: speed`,
        figure: mibps(mine.seconds),
        unit: 'MiB/s',
        reference: `qemu-img convert ${c.qemu.join(' ')}`,
        referenceFigure: mibps(ref.seconds),
        ratio: ref.seconds / mine.seconds,
        notes: `ours ${mine.seconds.toFixed(2)} s (peak RSS ${Math.round(mine.peakRss / MiB)} MiB), qemu-img ${ref.seconds.toFixed(2)} s`,
      });
      rows.push({
        bench: 'formats',
        case: `${c.label}, ${sizeMiB} MiB mixed disk: output size`,
        figure: Math.round((mine.bytes / MiB) * 10) / 10,
        unit: 'MiB',
        reference: 'qemu-img, same format',
        referenceFigure: Math.round((ref.bytes / MiB) * 10) / 10,
        ratio: mine.bytes / ref.bytes,
      });
      console.error(`formats: ${c.label}: ours ${mine.seconds.toFixed(2)} s ${mine.bytes} B, qemu-img ${ref.seconds.toFixed(2)} s ${ref.bytes} B`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module || path.resolve(process.argv[1] ?? '') === __filename) {
  const args = process.argv.slice(2);
  const sizeArg = args.find((a) => a.startsWith('--size-mib='));
  run({ quick: args.includes('--quick'), sizeMiB: sizeArg ? Number(sizeArg.slice('--size-mib='.length)) : undefined })
    .then((rows) => console.log(JSON.stringify(rows, null, 2)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
