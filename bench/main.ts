/**
 * `npm run bench [-- part… ] [--quick]`: runs the benchmark parts (pipeline, e2e, provision, list, coldstart,
 * chunked, formats, range-reads, console; all
 * by default), prints one table of figures with the ratio against each figure's reference measured in
 * the same run, and writes bench/results/latest.json and bench/results/summary.md (which the README's
 * Performance section quotes, with the machine it ran on).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchRow } from './pipeline';

const ROOT = path.resolve(__dirname, '..');
const PARTS: Record<string, () => Promise<{ run(opts: { quick?: boolean }): Promise<BenchRow[]> }>> = {
  pipeline: () => import('./pipeline'),
  e2e: () => import('./e2e'),
  provision: () => import('./provision'),
  list: () => import('./list'),
  coldstart: () => import('./coldstart'),
  chunked: () => import('./chunked'),
  formats: () => import('./formats'),
  'range-reads': () => import('./range-reads'),
  console: () => import('./console'),
};

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

function table(rows: BenchRow[]): string {
  const lines = ['| bench | case | figure | reference | ratio |', '|---|---|---:|---|---:|'];
  for (const r of rows) {
    const ratio = r.ratio ?? (r.referenceFigure ? r.figure / r.referenceFigure : undefined);
    lines.push(
      `| ${r.bench} | ${r.case} | ${r.figure} ${r.unit} | ${r.reference ? `${r.reference}${r.referenceFigure !== undefined ? ` (${r.referenceFigure} ${r.unit})` : ''}` : ''} | ${ratio !== undefined ? `${ratio.toFixed(2)}×` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Runs one part in a fresh process (parts start servers and set process-wide state), returning its rows. */
function runPart(part: string, quick: boolean): BenchRow[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-part-'));
  const out = path.join(dir, 'rows.json');
  try {
    const res = spawnSync(
      process.execPath,
      [
        '--openssl-legacy-provider',
        path.join(ROOT, 'scripts', 'run-ts.mjs'),
        path.join(ROOT, 'bench', 'main.ts'),
        `--child=${part}`,
        `--out=${out}`,
        ...(quick ? ['--quick'] : []),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT },
    );
    if (res.status !== 0) throw new Error(`bench part ${part} failed (exit ${res.status})`);
    return JSON.parse(readFileSync(out, 'utf8')) as BenchRow[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const child = args.find((a) => a.startsWith('--child='))?.slice('--child='.length);
  if (child) {
    const rows = await (await PARTS[child]()).run({ quick });
    writeFileSync(args.find((a) => a.startsWith('--out='))!.slice('--out='.length), JSON.stringify(rows));
    process.exit(0);
  }
  const wanted = args.filter((a) => !a.startsWith('--'));
  const unknown = wanted.filter((p) => !PARTS[p]);
  if (unknown.length) {
    console.error(`unknown part(s): ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`);
    process.exit(2);
  }
  const parts = wanted.length ? wanted : Object.keys(PARTS);
  const rows: BenchRow[] = [];
  for (const part of parts) {
    console.error(`== ${part}`);
    rows.push(...runPart(part, quick));
  }
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const when = new Date().toISOString();
  writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ when, machine: machine(), quick, rows }, null, 2));
  const md = `Measured ${when} on ${machine()}${quick ? ' (quick mode)' : ''}.\n\n${table(rows)}\n`;
  writeFileSync(path.join(out, 'summary.md'), md);
  console.log(md);
  process.exit(0);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
