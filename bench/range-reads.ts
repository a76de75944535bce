/**
 * Benchmark of expansion in ranges through a format's reader (DiskReader.streamRange,
 * lambdas/pipeline/formats; docs/decisions/async-provisioning.md): qemu-img's qcow2, vhd dynamic and
 * vmdk monolithicSparse / streamOptimized files of the same disk of realistic content (thirds of
 * zeros, text and random bytes; test/helpers/disk-content.ts), read two ways in the same run, the
 * fastest of `--runs` (default 3) of each side, alternating which goes first:
 * - ranges: as the ExpandRange invocations do, one after the other here: a fresh reader per range
 *   (header and top-level table read again), the range's bytes copied into a buffer of its length —
 *   one buffer reused across the ranges, so the figure is the reading's;
 * - reference: the same reader's whole-disk `stream()` (what ExpandImage reads), each piece copied
 *   into a recycled buffer (the S3 sink copies likewise).
 * The ratio is the reference's time / the ranges' (1: reading by ranges costs nothing more). Also
 * reported: the bytes the ranges read from the file over the file's size (what a range reads beyond
 * its own clusters: its tables and the rest of the cache windows they sit in), and the ranges' time
 * with a fresh buffer per range, as each ExpandRange invocation allocates one: on this VM the first
 * touch of fresh memory is expensive (bench/formats.ts, "Why the fastest of five"), so that figure is
 * mostly the kernel's page faults, not the reader.
 *
 * Run: `node scripts/run-ts.mjs bench/range-reads.ts [--quick] [--size-mib=1024] [--range-mib=256] [--runs=3]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDisk, type RandomAccessSource } from '../lambdas/pipeline/formats';
import { fileSource } from '../lambdas/pipeline/formats/stage';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { BenchRow } from './pipeline';

const MiB = 1024 * 1024;

const CASES: { label: string; args: string[]; format: 'qcow2' | 'vhd' | 'vmdk' }[] = [
  { label: 'qcow2', args: ['-O', 'qcow2'], format: 'qcow2' },
  { label: 'vhd dynamic', args: ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'], format: 'vhd' },
  { label: 'vmdk monolithicSparse', args: ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'], format: 'vmdk' },
  { label: 'vmdk streamOptimized', args: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], format: 'vmdk' },
];

/** A source that counts the bytes read from it. */
function counted(source: RandomAccessSource): RandomAccessSource & { bytes: number } {
  const out = {
    size: source.size,
    bytes: 0,
    read: async (offset: number, length: number) => {
      out.bytes += length;
      return source.read(offset, length);
    },
  };
  return out;
}

async function byRanges(
  file: string,
  format: 'qcow2' | 'vhd' | 'vmdk',
  rangeBytes: number,
  fresh: boolean,
): Promise<{ seconds: number; bytesRead: number }> {
  // touched before the clock starts: a zero-filled allocation is mapped lazily, and its first write would fault every page
  const reused = fresh ? undefined : Buffer.allocUnsafeSlow(rangeBytes).fill(1);
  const fh = await open(file, 'r');
  const start = process.hrtime.bigint();
  let bytesRead = 0;
  try {
    const size = (await fh.stat()).size;
    const first = counted(fileSource(fh, size));
    const virtualSize = (await openDisk(format, first)).virtualSize;
    bytesRead += first.bytes;
    for (let at = 0; at < virtualSize; at += rangeBytes) {
      const end = Math.min(virtualSize, at + rangeBytes);
      const source = counted(fileSource(fh, size));
      const reader = await openDisk(format, source);
      const raw = reused ? reused.subarray(0, end - at) : Buffer.allocUnsafe(end - at);
      let filled = 0;
      for await (const piece of reader.streamRange(at, end)) filled += piece.copy(raw, filled);
      if (filled !== raw.length) throw new Error(`range at ${at}: ${filled} of ${raw.length} bytes`);
      bytesRead += source.bytes;
    }
  } finally {
    await fh.close();
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytesRead };
}

async function whole(file: string, format: 'qcow2' | 'vhd' | 'vmdk'): Promise<number> {
  const fh = await open(file, 'r');
  const start = process.hrtime.bigint();
  try {
    const reader = await openDisk(format, fileSource(fh, (await fh.stat()).size));
    const sink = Buffer.allocUnsafe(8 * MiB);
    let total = 0;
    for await (const piece of reader.stream({ retainBytes: 0 })) {
      for (let off = 0; off < piece.length; off += sink.length) piece.copy(sink, 0, off, Math.min(piece.length, off + sink.length));
      total += piece.length;
    }
    if (total !== reader.virtualSize) throw new Error(`whole read: ${total} of ${reader.virtualSize} bytes`);
  } finally {
    await fh.close();
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function run(opts: { quick?: boolean; sizeMiB?: number; rangeMiB?: number; runs?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = opts.sizeMiB ?? (opts.quick ? 256 : 1024);
  const rangeBytes = (opts.rangeMiB ?? (opts.quick ? 64 : 256)) * MiB;
  const runs = Math.max(1, opts.runs ?? (opts.quick ? 1 : 3));
  const dir = mkdtempSync(path.join(tmpdir(), 'range-reads-bench-'));
  const rows: BenchRow[] = [];
  try {
    const raw = path.join(dir, 'disk.raw');
    await writeDiskFile(raw, sizeMiB * MiB, 11);
    for (const c of CASES) {
      const file = path.join(dir, `disk.${c.label.replace(/\W+/g, '-')}`);
      execFileSync('qemu-img', ['convert', '-f', 'raw', ...c.args, raw, file]);
      const fileSize = statSync(file).size;
      const rangeTimes: number[] = [];
      const freshTimes: number[] = [];
      const wholeTimes: number[] = [];
      let bytesRead = 0;
      for (let r = 0; r < runs; r++) {
        const order = r % 2 === 0 ? ['ranges', 'whole'] : ['whole', 'ranges'];
        for (const side of order) {
          if (side === 'ranges') {
            const result = await byRanges(file, c.format, rangeBytes, false);
            rangeTimes.push(result.seconds);
            bytesRead = result.bytesRead;
          } else wholeTimes.push(await whole(file, c.format));
        }
        freshTimes.push((await byRanges(file, c.format, rangeBytes, true)).seconds);
      }
      const ranges = Math.min(...rangeTimes);
      const reference = Math.min(...wholeTimes);
      rows.push({
        bench: 'range-reads',
        case: `${c.label}, ${sizeMiB} MiB disk in ${Math.ceil((sizeMiB * MiB) / rangeBytes)} ranges`,
        figure: Number(((sizeMiB / ranges) as number).toFixed(1)),
        unit: 'MiB/s of disk',
        reference: 'the same reader, whole disk (stream)',
        referenceFigure: Number((sizeMiB / reference).toFixed(1)),
        ratio: reference / ranges,
        notes: `file ${(fileSize / MiB).toFixed(1)} MiB; the ranges read ${(bytesRead / MiB).toFixed(1)} MiB of it (${(bytesRead / fileSize).toFixed(3)}×); runs: ranges ${rangeTimes.map((t) => t.toFixed(2)).join('/')} s, whole ${wholeTimes.map((t) => t.toFixed(2)).join('/')} s; with a fresh buffer per range ${freshTimes.map((t) => t.toFixed(2)).join('/')} s`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module || path.resolve(process.argv[1] ?? '') === __filename) {
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : undefined;
  };
  run({ quick: args.includes('--quick'), sizeMiB: num('size-mib'), rangeMiB: num('range-mib'), runs: num('runs') })
    .then((rows) => console.log(JSON.stringify(rows, null, 2)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
