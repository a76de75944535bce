/**
 * Benchmark of the disk-format writers (lambdas/pipeline/formats) against `qemu-img convert` on the
 * same 1 GiB disk of realistic content (thirds of zeros, text and random bytes; test/helpers/disk-content.ts),
 * in the same run, each side run `--runs` times (default 5) per format, alternating which goes first,
 * the fastest run of each side compared (see "Why the fastest of five" below):
 * - speed: ours = file → writer → file (head written in place at the end), wall clock; the ratio is
 *   qemu-img's time / ours (above 1: we are faster). Both sides read the raw file and write the
 *   format's file with a like I/O pattern (2 MiB reads, 4 in flight, into recycled buffers as
 *   qemu-img's; writes of at most 1 MiB, 2 in flight, where qemu-img's average 0.8 MiB and reach
 *   2 MiB) and neither computes digests; the pipeline's sha1 +
 *   sha256 of the output (build.ts), which qemu-img does not compute, is timed apart and reported in
 *   the notes with the ratio it would give. CPU seconds of both sides are reported too (steadier
 *   than wall clock on a loaded machine);
 * - ours reads through the pipeline's own sequential reader (formats/stage.ts `sequentialReads`, as
 *   the converter and provisioner read S3), which recycles its buffers once the writer cannot hold a
 *   view of them (`retainBytes`), and writes as the S3 sink does: each output copied into a recycled
 *   buffer (one memcpy qemu-img does not do), 1 MiB here (the S3 sink's are its part size);
 * - both write every byte of the file that S3 would store. qemu-img leaves the zero 4 KiB regions of
 *   a raw-like file as holes in a local file (its `-S 4k` default), which an S3 object cannot have: it
 *   wrote 168 of the 256 MiB of a fixed vhd of the 256 MiB bench disk, and 165 of the 252 MiB in the
 *   allocated blocks of a dynamic vhd. So the fixed vhd reference runs with `-S 0` (write every
 *   byte, as the format is fixed) and the dynamic one with `-S 2M` (a zero run is skipped only as a
 *   whole 2 MiB block, which the format leaves unallocated; shorter ones are written): the same
 *   bytes and size as ours. Likewise plain qcow2 runs with `-S 64k` (one cluster): with its default it
 *   left 27 MiB of zero 4 KiB runs inside allocated clusters of the 1 GiB bench disk unwritten
 *   (689 fallocate(ZERO_RANGE) calls, strace), and wrote 725 MB, as ours, with it. The vmdk
 *   references already write every byte of their allocated grains with the default;
 * - size: our file's bytes / qemu-img's for the same format (below 1: ours is smaller).
 * What the ratios depend on: the cores (our deflate runs on every core through libuv's pool; qemu-img
 * deflates qcow2 clusters on its thread pool too, but vmdk grains on one thread), the share of
 * incompressible bytes (we store grains that look random without trying to deflate them: qemu-img
 * tries and keeps the raw cluster), the share of zeros (both skip them), the page cache (the source is
 * read once per case, warm after the first) and other load on the machine.
 *
 * Why the fastest of five, and why 1 MiB writes: this machine is a VM whose balloon driver reports free
 * memory to the host in 2 MiB blocks (page_reporting_order 9), and the host takes those pages back.
 * Writes of 2 MiB at 2 MiB-aligned offsets get 2 MiB page-cache folios (ext4's large folios),
 * presumably taken from exactly those blocks, whose pages the host must then fault in again: after
 * 15 s idle, 700 MiB written in 2 MiB pieces cost 2.2 s of system time, in 1 MiB pieces 0.16 s, 64 KiB
 * pieces 0.36 s (a bare write loop, no conversion; the kernel's time goes to the copy into the page
 * cache). Which side pays depends on what the machine freed just before,
 * not on the converter: with 4 MiB writes, our same conversion took 0.44 s in one run and 2.09 s
 * in the next. S3, where the pipeline writes, has no page cache; the figure wanted is the
 * converter's, so the sink writes ≤ 1 MiB and the fastest of the runs is kept for each side.
 * Smaller writes make a slow run rarer, not impossible (qemu-img's writes reach 2 MiB): in one bench
 * a dynamic vhd took ours 1.32/1.94/0.40 s and qemu-img 2.01/1.96/0.48 s. The notes list every run.
 *
 * Run: `node scripts/run-ts.mjs bench/formats.ts [--quick] [--size-mib=1024] [--runs=5] [--cases=qcow2,vhd fixed]`, or
 * `npm run bench -- formats`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWriter, type OutputSpec } from '../lambdas/pipeline/formats';
import { fileSource, sequentialReads } from '../lambdas/pipeline/formats/stage';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { BenchRow } from './pipeline';

const MiB = 1024 * 1024;

const CASES: { label: string; spec: OutputSpec; qemu: string[]; fmt: string }[] = [
  { label: 'qcow2', spec: { format: 'qcow2' }, qemu: ['-O', 'qcow2', '-S', '64k'], fmt: 'qcow2' },
  { label: 'qcow2 compressed', spec: { format: 'qcow2', compressed: true }, qemu: ['-c', '-O', 'qcow2'], fmt: 'qcow2' },
  {
    label: 'vmdk streamOptimized',
    spec: { format: 'vmdk', subformat: 'streamOptimized' },
    qemu: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'],
    fmt: 'vmdk',
  },
  {
    label: 'vmdk monolithicSparse',
    spec: { format: 'vmdk', subformat: 'monolithicSparse' },
    qemu: ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'],
    fmt: 'vmdk',
  },
  {
    label: 'vhd dynamic',
    spec: { format: 'vhd', subformat: 'dynamic' },
    // no holes inside allocated blocks (an S3 object has none): see the header
    qemu: ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', '-S', '2M'],
    fmt: 'vpc',
  },
  {
    label: 'vhd fixed',
    spec: { format: 'vhd', subformat: 'fixed' },
    // every byte written, as in S3 (see the header)
    qemu: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on', '-S', '0'],
    fmt: 'vpc',
  },
];

/** Reads a whole file in order into recycled buffers (the digest pass keeps nothing of a piece). */
function readFile(fh: FileHandle, size: number, pieceSize = 2 * MiB, ahead = 4): AsyncGenerator<Buffer> {
  return sequentialReads(fileSource(fh, size), { pieceSize, ahead, retainBytes: 0 });
}

/**
 * Writes in order at increasing offsets as the S3 sink uploads parts (s3-sink.ts): each output is
 * copied into a recycled buffer before write() resolves, and full buffers are written 2 at once
 * (1 MiB each: see the header on 2 MiB page-cache folios). Copying is what lets the source recycle its buffers: a sink that kept views until their
 * write completed would hold source bytes for as long as the writer skips zeros, however many.
 */
function fileSink(fh: FileHandle, inFlight = 2, bufferSize = 1 * MiB): { write(b: Buffer): Promise<void>; close(): Promise<void> } {
  const free: Buffer[] = [];
  let current: Buffer | undefined;
  let filled = 0;
  let position = 0;
  const writes = new Set<Promise<void>>();
  const flush = (): void => {
    if (!current || filled === 0) return;
    const buf = current;
    const bytes = filled;
    const at = position;
    position += bytes;
    current = undefined;
    filled = 0;
    const w = fh.write(buf, 0, bytes, at).then(({ bytesWritten }) => {
      if (bytesWritten !== bytes) throw new Error(`short write at ${at}`);
      free.push(buf);
    });
    w.catch(() => undefined);
    const tracked = w.finally(() => writes.delete(tracked));
    tracked.catch(() => undefined);
    writes.add(tracked);
  };
  return {
    async write(b) {
      for (let offset = 0; offset < b.length; ) {
        if (!current) {
          while (writes.size >= inFlight) await Promise.race(writes);
          current = free.pop() ?? Buffer.allocUnsafeSlow(bufferSize);
        }
        const n = b.copy(current, filled, offset);
        offset += n;
        filled += n;
        if (filled === current.length) flush();
      }
    },
    async close() {
      flush();
      await Promise.all(writes);
    },
  };
}

/** The file → writer → file conversion timed as "ours" (no hashing: qemu-img computes none). */
export async function ours(
  spec: OutputSpec,
  source: string,
  size: number,
  out: string,
): Promise<{ seconds: number; cpuSeconds: number; bytes: number; peakRss: number }> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  const writer = createWriter(spec, { virtualSize: size });
  const input = await open(source, 'r');
  const output = await open(out, 'w');
  let bytes = 0;
  try {
    const sink = fileSink(output);
    // the source recycles a buffer once the writer cannot hold a view of it any more (the sink copies)
    const source = sequentialReads(fileSource(input, size), { pieceSize: 2 * MiB, ahead: 4, retainBytes: writer.retainBytes });
    for await (const b of writer.write(source)) {
      bytes += b.length;
      await sink.write(b);
    }
    await sink.close();
    if (writer.headSize > 0) await output.write(writer.head(), 0, writer.headSize, 0);
  } finally {
    await input.close();
    await output.close();
    clearInterval(sampler);
  }
  const used = process.cpuUsage(cpu);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (used.user + used.system) / 1e6, bytes, peakRss };
}

/** What the pipeline adds on top (build.ts): sha1 + sha256 of the output file, read back once. */
async function hashFile(file: string): Promise<number> {
  const start = process.hrtime.bigint();
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    for await (const b of readFile(fh, (await fh.stat()).size, 4 * MiB)) {
      sha1.update(b);
      sha256.update(b);
    }
  } finally {
    await fh.close();
  }
  sha1.digest();
  sha256.digest();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export function qemuImg(args: string[], source: string, out: string): { seconds: number; cpuSeconds: number; bytes: number } {
  const start = process.hrtime.bigint();
  // bash's `times` prints the children's user and system CPU time on its second line
  const times = execFileSync('bash', ['-c', 'qemu-img convert -f raw "$@" >/dev/null && times', 'qemu-img', ...args, source, out], {
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const child = (times.trim().split('\n')[1] ?? '').match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  const cpuSeconds = child ? Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4]) : NaN;
  return { seconds, cpuSeconds, bytes: statSync(out).size };
}

export async function run(opts: { quick?: boolean; sizeMiB?: number; cases?: string[]; runs?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = opts.sizeMiB ?? (opts.quick ? 128 : 1024);
  const runs = Math.max(1, opts.runs ?? (opts.quick ? 1 : 5));
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-formats-'));
  const rows: BenchRow[] = [];
  const cases = opts.cases ? CASES.filter((c) => opts.cases!.includes(c.label)) : CASES;
  try {
    const source = path.join(dir, 'disk.raw');
    const size = sizeMiB * MiB;
    await writeDiskFile(source, size, 42);
    qemuImg(['-O', 'raw'], source, path.join(dir, 'warm.raw')); // page cache warm for both
    rmSync(path.join(dir, 'warm.raw'));
    for (const c of cases) {
      const a = path.join(dir, 'ours.out');
      const b = path.join(dir, 'qemu.out');
      // each side starts with no dirty pages to write back (the disk just generated, the other side's
      // output), which would otherwise be flushed while the next side is timed; the sides take turns
      // going first, and the fastest run of each is kept (see the header)
      const oursRuns: Awaited<ReturnType<typeof ours>>[] = [];
      const qemuRuns: ReturnType<typeof qemuImg>[] = [];
      const runOurs = async () => {
        rmSync(a, { force: true });
        execFileSync('sync');
        oursRuns.push(await ours(c.spec, source, size, a));
      };
      const runQemu = () => {
        rmSync(b, { force: true });
        execFileSync('sync');
        qemuRuns.push(qemuImg(c.qemu, source, b));
      };
      for (let r = 0; r < runs; r++) {
        if (r % 2 === 0) {
          await runOurs();
          runQemu();
        } else {
          runQemu();
          await runOurs();
        }
      }
      const fastest = <T extends { seconds: number }>(xs: T[]): T => xs.reduce((m, x) => (x.seconds < m.seconds ? x : m));
      const mine = fastest(oursRuns);
      const ref = fastest(qemuRuns);
      const all = (xs: { seconds: number }[]) => xs.map((x) => x.seconds.toFixed(2)).join('/');
      const hashSeconds = await hashFile(a);
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
        notes:
          `both read the raw file and write the format's file, no digests; fastest of ${runs} runs each (ours ${all(oursRuns)} s, qemu-img ${all(qemuRuns)} s); ours ${mine.seconds.toFixed(2)} s (CPU ${mine.cpuSeconds.toFixed(2)} s, peak RSS ${Math.round(mine.peakRss / MiB)} MiB), ` +
          `qemu-img ${ref.seconds.toFixed(2)} s (CPU ${ref.cpuSeconds.toFixed(2)} s); the pipeline also computes sha1+sha256 of the output (build.ts), ` +
          `${hashSeconds.toFixed(2)} s more here: with it ${(ref.seconds / (mine.seconds + hashSeconds)).toFixed(2)}×`,
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
      console.error(
        `formats: ${c.label}: ours ${mine.seconds.toFixed(2)} s (CPU ${mine.cpuSeconds.toFixed(2)} s) ${mine.bytes} B, qemu-img ${ref.seconds.toFixed(2)} s (CPU ${ref.cpuSeconds.toFixed(2)} s) ${ref.bytes} B, ` +
          `speed ${(ref.seconds / mine.seconds).toFixed(2)}× (runs: ours ${all(oursRuns)} s, qemu-img ${all(qemuRuns)} s), size ${(mine.bytes / ref.bytes).toFixed(3)}×; + sha1/sha256 of the output ${hashSeconds.toFixed(2)} s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module || path.resolve(process.argv[1] ?? '') === __filename) {
  const args = process.argv.slice(2);
  const sizeArg = args.find((a) => a.startsWith('--size-mib='));
  const casesArg = args.find((a) => a.startsWith('--cases='));
  const runsArg = args.find((a) => a.startsWith('--runs='));
  run({
    runs: runsArg ? Number(runsArg.slice('--runs='.length)) : undefined,
    quick: args.includes('--quick'),
    sizeMiB: sizeArg ? Number(sizeArg.slice('--size-mib='.length)) : undefined,
    cases: casesArg ? casesArg.slice('--cases='.length).split(',') : undefined,
  })
    .then((rows) => console.log(JSON.stringify(rows, null, 2)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
