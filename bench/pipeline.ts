/**
 * Benchmark of the build pipeline (docs/architecture.md §9): gzip level 6 + sha1 + sha256 at least as fast as
 * `pigz -6 -p 2` on the same bytes, peak memory flat with disk size.
 *
 * For each disk size (default 256 MiB and 2 GiB of realistic content, fixed seed), written to a temp
 * file first:
 * - `local <gzip|none>`: file → pipeline → discard (the pipeline alone); also gzip with
 *   `storeIncompressible: false` (deflate every byte, as pigz does) to show what the stored runs buy;
 * - `s3 <gzip|none>`: s3rver started in this (the bench's) process on a temp dir, disk uploaded first;
 *   the case's process reads GetObject → pipeline → multipart upload over loopback (like a Lambda
 *   talking to S3, the server does not share the pipeline's event loop); the stored object is then
 *   re-read and its sha256 checked (not timed);
 * - references on the same file: `pigz -6 -p 2`, `gzip -6` (gzip) and Node's sha256 rate (none).
 * Every case runs in a fresh child process, so its peak RSS is its own. The machine is shared, so
 * each case runs `reps` times interleaved with its references and the best run counts; the notes also
 * give the CPU time, which the load on the machine disturbs less.
 *
 * Run: `node scripts/run-ts.mjs bench/pipeline.ts [--quick] [--sizes=256,2048] [--reps=3]`, or through
 * the bench runner, which calls `run()`. Results: bench/results/pipeline.json.
 */
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { writeDiskFile } from '../test/helpers/disk-content';
import type { ChildCase, ChildResult } from './lib/pipeline-child';
import { startS3rver } from './lib/s3rver';

export interface BenchRow {
  bench: string;
  case: string;
  figure: number;
  unit: string;
  reference?: string;
  referenceFigure?: number;
  ratio?: number;
  notes?: string;
}

export interface PipelineBenchOptions {
  /** Disk sizes in MiB, default [256, 2048] ([64] when quick). */
  sizes?: number[];
  /** Smoke test: 64 MiB, one run per case. */
  quick?: boolean;
  /** Runs per case (best counts), default 3 for ≤ 512 MiB, 1 above; 1 when quick. */
  reps?: number;
  /** Where to write the JSON, default bench/results/pipeline.json; null to skip. */
  output?: string | null;
  log?: (line: string) => void;
}

const MiB = 1024 * 1024;
const SEED = 20240517;
const BENCH = 'pipeline';

function repoRoot(): string {
  const candidates = [path.resolve(__dirname, '..'), process.cwd()];
  for (let dir of candidates) {
    for (;;) {
      if (existsSync(path.join(dir, 'bench', 'lib', 'pipeline-child.ts'))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('cannot find the repository root (bench/lib/pipeline-child.ts)');
}

async function bundleChild(root: string): Promise<string> {
  const outfile = path.join(root, '.local', 'dist', 'bench_pipeline-child.cjs');
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [path.join(root, 'bench', 'lib', 'pipeline-child.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  return outfile;
}

function runChild(script: string, c: ChildCase): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(c)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' }, // the SDK's Node 20 notice, once per child
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench child ${c.kind} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
      } catch (err) {
        reject(err);
      }
    });
  });
}

interface ToolRun {
  wallS: number;
  cpuS?: number;
  maxRssMiB?: number;
}

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs pigz once if missing (apt, as root); false if that fails. */
function ensurePigz(log: (s: string) => void): boolean {
  if (hasTool('pigz')) return true;
  if (process.getuid?.() !== 0) return false;
  log('pigz missing: apt-get install -y pigz');
  const sh = (cmd: string): boolean => {
    try {
      execFileSync('sh', ['-c', cmd], { stdio: 'ignore', timeout: 300_000 });
      return true;
    } catch {
      return false;
    }
  };
  if (!sh('apt-get install -y pigz')) sh('apt-get update && apt-get install -y pigz');
  return hasTool('pigz');
}

/** `tool args < file > /dev/null`, timed; CPU and RSS from /usr/bin/time when present. */
function runTool(cmd: string, args: string[], file: string): Promise<ToolRun> {
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  return new Promise((resolve, reject) => {
    const input = openSync(file, 'r');
    const devnull = openSync('/dev/null', 'w');
    const argv = timeBin ? ['-f', '%U %S %M', cmd, ...args] : args;
    const t0 = performance.now();
    const child = spawn(timeBin ?? cmd, argv, { stdio: [input, devnull, 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      closeSync(input);
      closeSync(devnull);
      if (code !== 0) return reject(new Error(`${cmd} exited with ${code}: ${err}`));
      const m = /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(err);
      resolve(m ? { wallS, cpuS: Number(m[1]) + Number(m[2]), maxRssMiB: Number(m[3]) / 1024 } : { wallS });
    });
  });
}

const rate = (bytes: number, s: number): number => bytes / MiB / s;
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const best = <T extends { wallS: number }>(runs: T[]): T => runs.reduce((a, b) => (b.wallS < a.wallS ? b : a));

export async function run(opts: PipelineBenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const quick = opts.quick ?? false;
  const sizes = opts.sizes ?? (quick ? [64] : [256, 2048]);
  const root = repoRoot();
  const script = await bundleChild(root);
  const pigz = ensurePigz(log);
  if (!pigz) log('pigz is missing and could not be installed: no pigz reference');
  const rows: BenchRow[] = [];
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-pipeline-'));
  const bucket = 'bench';
  const idle = await runChild(script, { kind: 'idle' });
  // pipeline knobs, for tuning runs (defaults otherwise)
  const env = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
  const tuning = {
    chunkSize: env('PIPELINE_CHUNK_MIB') !== undefined ? env('PIPELINE_CHUNK_MIB')! * MiB : undefined,
    maxChunksInFlight: env('PIPELINE_CHUNKS_IN_FLIGHT'),
  };

  try {
    for (const sizeMiB of sizes) {
      const size = sizeMiB * MiB;
      const reps = opts.reps ?? (quick ? 1 : sizeMiB <= 512 ? 3 : 1);
      const label = sizeMiB >= 1024 && sizeMiB % 1024 === 0 ? `${sizeMiB / 1024}GiB` : `${sizeMiB}MiB`;
      const file = path.join(tmp, `disk-${label}.raw`);
      log(`[pipeline] ${label}: writing the disk (seed ${SEED})`);
      const disk = await writeDiskFile(file, size, SEED);

      // the local S3, with the disk uploaded
      const s3dir = path.join(tmp, `s3-${label}`);
      const s3 = await startS3rver({ directory: s3dir, buckets: [bucket] });
      await s3
        .client()
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'disks/disk.raw', Body: createReadStream(file), ContentLength: size }));
      const endpoint = s3.endpoint;

      const runs: Record<string, ChildResult[]> = {};
      const tools: Record<string, ToolRun[]> = {};
      const push = <T>(map: Record<string, T[]>, k: string, v: T): void => {
        map[k] ??= [];
        map[k].push(v);
      };
      try {
        for (let rep = 1; rep <= reps; rep++) {
          log(`[pipeline] ${label}: run ${rep}/${reps}`);
          for (const compression of ['gzip', 'none'] as const) {
            push(runs, `local ${compression}`, await runChild(script, { kind: 'local', file, size, compression, ...tuning }));
            push(
              runs,
              `s3 ${compression}`,
              await runChild(script, { kind: 's3', endpoint, bucket, sourceKey: 'disks/disk.raw', compression, ...tuning }),
            );
          }
          push(
            runs,
            'local gzip deflate-all',
            await runChild(script, { kind: 'local', file, size, compression: 'gzip', storeIncompressible: false, ...tuning }),
          );
          if (pigz) push(tools, 'pigz -6 -p 2', await runTool('pigz', ['-6', '-p', '2', '-c'], file));
          push(tools, 'gzip -6', await runTool('gzip', ['-6', '-c'], file));
          push(runs, 'node sha256', await runChild(script, { kind: 'sha256', file }));
          push(runs, 's3 get', await runChild(script, { kind: 's3get', endpoint, bucket, sourceKey: 'disks/disk.raw' }));
        }
      } finally {
        await s3.close();
      }
      for (const [k, rs] of Object.entries(runs)) {
        for (const r of rs) {
          if (r.sha256 && (k.endsWith('none') || k === 'node sha256' || k === 's3 get') && r.sha256 !== disk.sha256)
            throw new Error(`${k}: sha256 of the output differs from the disk's`);
          if (r.verified === false) throw new Error(`${k}: the stored object does not match the reported sha256`);
        }
      }

      const ref = (name: string): ToolRun | ChildResult | undefined =>
        tools[name] ? best(tools[name]) : runs[name] ? best(runs[name]) : undefined;
      const pigzBest = ref('pigz -6 -p 2');
      const gzipBest = ref('gzip -6')!;
      const shaBest = ref('node sha256')!;
      const describe = (r: ChildResult): string =>
        `best of ${reps}; cpu ${round(r.cpuS, 2)} s (${round(rate(size, r.cpuS))} MiB per cpu-s); out ${round((r.outBytes / size) * 100)} %; ` +
        `peak RSS ${round(r.maxRssMiB)} MiB; max chunks in flight ${r.stats?.maxChunksInFlight}/${r.stats?.chunksInFlightLimit} of ${(r.stats?.chunkSize ?? 0) / MiB} MiB` +
        (r.verified ? '; stored object verified' : '') +
        `; all runs ${runs[Object.keys(runs).find((k) => runs[k].includes(r))!].map((x) => round(rate(size, x.wallS))).join(', ')} MiB/s`;

      for (const where of ['local', 's3'] as const) {
        const g = best(runs[`${where} gzip`]);
        const n = best(runs[`${where} none`]);
        const gRate = rate(size, g.wallS);
        const nRate = rate(size, n.wallS);
        const caseName = (c: string): string => `${where === 'local' ? 'file→pipeline→discard' : 's3→pipeline→s3'} ${c} ${label}`;
        if (pigzBest) {
          const p = rate(size, pigzBest.wallS);
          rows.push({
            bench: BENCH,
            case: caseName('gzip-6'),
            figure: round(gRate),
            unit: 'MiB/s',
            reference: 'pigz -6 -p 2',
            referenceFigure: round(p),
            ratio: round(gRate / p, 2),
            notes: describe(g),
          });
        }
        const z = rate(size, gzipBest.wallS);
        rows.push({
          bench: BENCH,
          case: caseName('gzip-6 vs gzip'),
          figure: round(gRate),
          unit: 'MiB/s',
          reference: 'gzip -6',
          referenceFigure: round(z),
          ratio: round(gRate / z, 2),
        });
        const s = rate(size, shaBest.wallS);
        rows.push({
          bench: BENCH,
          case: caseName('none'),
          figure: round(nRate),
          unit: 'MiB/s',
          reference: 'node sha256 (file stream)',
          referenceFigure: round(s),
          ratio: round(nRate / s, 2),
          notes: describe(n),
        });
      }
      // CPU cost per MiB: what the load of other processes on a shared machine disturbs least
      const cpuRate = (rs: ChildResult[]): number => Math.max(...rs.map((r) => rate(size, r.cpuS)));
      if (pigzBest?.cpuS !== undefined) {
        const pigzCpu = Math.max(...tools['pigz -6 -p 2'].map((t) => rate(size, t.cpuS!)));
        for (const [k, c] of [
          ['local gzip', 'gzip-6'],
          ['local gzip deflate-all', 'gzip-6 deflating every byte'],
        ] as const) {
          rows.push({
            bench: BENCH,
            case: `file→pipeline→discard ${c} ${label}, per CPU-second`,
            figure: round(cpuRate(runs[k])),
            unit: 'MiB/cpu-s',
            reference: 'pigz -6 -p 2',
            referenceFigure: round(pigzCpu),
            ratio: round(cpuRate(runs[k]) / pigzCpu, 2),
            notes:
              'user+sys CPU of the whole process (reading, compressing, hashing); on 2 idle cores the wall-clock ratio follows this one',
          });
        }
      }
      const all = best(runs['local gzip deflate-all']);
      if (pigzBest) {
        const p = rate(size, pigzBest.wallS);
        rows.push({
          bench: BENCH,
          case: `file→pipeline→discard gzip-6 deflating every byte ${label}`,
          figure: round(rate(size, all.wallS)),
          unit: 'MiB/s',
          reference: 'pigz -6 -p 2',
          referenceFigure: round(p),
          ratio: round(rate(size, all.wallS) / p, 2),
          notes: describe(all),
        });
      }
      const toolNote = (t: ToolRun | undefined): string | undefined =>
        t
          ? `best of ${reps}${t.cpuS !== undefined ? `; cpu ${round(t.cpuS, 2)} s (${round(rate(size, t.cpuS))} MiB per cpu-s); peak RSS ${round(t.maxRssMiB ?? 0)} MiB` : ''}`
          : undefined;
      if (pigzBest)
        rows.push({
          bench: BENCH,
          case: `pigz -6 -p 2 ${label}`,
          figure: round(rate(size, pigzBest.wallS)),
          unit: 'MiB/s',
          notes: toolNote(pigzBest),
        });
      else rows.push({ bench: BENCH, case: `pigz -6 -p 2 ${label}`, figure: 0, unit: 'MiB/s', notes: 'pigz missing' });
      rows.push({
        bench: BENCH,
        case: `gzip -6 ${label}`,
        figure: round(rate(size, gzipBest.wallS)),
        unit: 'MiB/s',
        notes: toolNote(gzipBest),
      });
      rows.push({
        bench: BENCH,
        case: `node sha256 ${label}`,
        figure: round(rate(size, shaBest.wallS)),
        unit: 'MiB/s',
        notes: `best of ${reps}`,
      });
      rows.push({
        bench: BENCH,
        case: `s3rver GetObject → sha256 ${label}`,
        figure: round(rate(size, best(runs['s3 get']).wallS)),
        unit: 'MiB/s',
        notes: `best of ${reps}; the local S3 alone, sharing the 2 cores with its client: bounds the s3→pipeline→s3 cases`,
      });
      for (const k of ['local gzip', 'local gzip deflate-all', 'local none', 's3 gzip', 's3 none']) {
        rows.push({
          bench: BENCH,
          case: `peak RSS ${k} ${label}`,
          figure: round(Math.max(...runs[k].map((r) => r.maxRssMiB))),
          unit: 'MiB',
          notes: `max over ${reps} run(s); an idle node with the S3 SDK loaded: ${round(idle.maxRssMiB)} MiB`,
        });
      }
      rmSync(file, { force: true });
      rmSync(s3dir, { recursive: true, force: true });
    }

    // flatness: the largest size against the smallest
    if (sizes.length > 1) {
      const lo = Math.min(...sizes);
      const hi = Math.max(...sizes);
      const lab = (m: number): string => (m >= 1024 && m % 1024 === 0 ? `${m / 1024}GiB` : `${m}MiB`);
      for (const k of ['local gzip', 'local none', 's3 gzip', 's3 none']) {
        const a = rows.find((r) => r.case === `peak RSS ${k} ${lab(lo)}`)!;
        const b = rows.find((r) => r.case === `peak RSS ${k} ${lab(hi)}`)!;
        rows.push({
          bench: BENCH,
          case: `peak RSS ${k} ${lab(hi)} vs ${lab(lo)}`,
          figure: b.figure,
          unit: 'MiB',
          reference: `${lab(lo)} disk`,
          referenceFigure: a.figure,
          ratio: round(b.figure / a.figure, 2),
        });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const output = opts.output === undefined ? path.join(root, 'bench', 'results', 'pipeline.json') : opts.output;
  if (output) {
    mkdirSync(path.dirname(output), { recursive: true });
    writeFileSync(output, `${JSON.stringify({ bench: BENCH, date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
    log(`[pipeline] results written to ${path.relative(process.cwd(), output)}`);
  }
  return rows;
}

function printTable(rows: BenchRow[]): void {
  const cols: [string, (r: BenchRow) => string][] = [
    ['case', (r) => r.case],
    ['figure', (r) => `${r.figure} ${r.unit}`],
    ['reference', (r) => (r.reference ? `${r.reference}: ${r.referenceFigure} ${r.unit}` : '')],
    ['ratio', (r) => (r.ratio !== undefined ? `${r.ratio}×` : '')],
  ];
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(cols.map(([h]) => h)));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map(([, f]) => f(r))));
}

function parseArgs(argv: string[]): PipelineBenchOptions {
  const opts: PipelineBenchOptions = {};
  for (const a of argv) {
    if (a === '--quick') opts.quick = true;
    else if (a.startsWith('--sizes=')) opts.sizes = a.slice(8).split(',').map(Number);
    else if (a.startsWith('--reps=')) opts.reps = Number(a.slice(7));
  }
  return opts;
}

if (require.main === module || path.resolve(process.argv[1] ?? '') === __filename) {
  run(parseArgs(process.argv.slice(2))).then(
    (rows) => printTable(rows),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
