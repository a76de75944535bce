/**
 * Cold start: each handler bundled as the stack bundles it (esbuild, ESM, minified, SDK clients
 * bundled in, `module` entry points first, the Powertools Tracer left to the layer —
 * lib/constructs/service-function.ts, lib/powertools-layer.ts), then its size and
 * the time to import it in a fresh Node process (median of N runs). The reference is the time to
 * start a bare Node process that imports nothing, measured the same way.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUILD_TASKS, routes, taskEntry } from '../lambdas/routes';
import { POWERTOOLS_LAYER_MODULES } from '../lib/powertools-layer';
import type { BenchRow } from './pipeline';

const ROOT = path.resolve(__dirname, '..');
const BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Milliseconds to import `file` in a fresh process (measured inside it, after Node itself started). */
function importMs(probe: string, file: string | null): number {
  const out = execFileSync(process.execPath, [probe, file ?? ''], {
    env: {
      ...process.env,
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 't',
      IMAGES_BUCKET: 'i',
      DISKS_BUCKET: 'd',
      STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:0:stateMachine:x',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    encoding: 'utf8',
  });
  return Number(out.trim());
}

export async function run(opts: { runs?: number; quick?: boolean; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const runs = opts.runs ?? (opts.quick ? 5 : 20);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-coldstart-'));
  const probe = path.join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    `const t = process.hrtime.bigint();\nif (process.argv[2]) { const m = await import(process.argv[2]); if (typeof m.handler !== 'function') throw new Error('no handler'); }\nprocess.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));\n`,
  );
  const entries = [
    ...routes.map((r) => ({ name: r.operation, entry: r.entry })),
    ...BUILD_TASKS.map((t) => ({ name: t, entry: taskEntry(t) })),
    { name: 'Authorizer', entry: 'auth/authorizer.ts' },
  ];
  const rows: BenchRow[] = [];
  try {
    const baseline = median(Array.from({ length: runs }, () => importMs(probe, null)));
    rows.push({ bench: 'coldstart', case: 'node (nothing imported)', figure: Math.round(baseline * 10) / 10, unit: 'ms' });
    for (const { name, entry } of entries) {
      const outfile = path.join(dir, `${name}.mjs`);
      await build({
        entryPoints: [path.join(ROOT, 'lambdas', entry)],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: { js: BANNER },
        external: [...POWERTOOLS_LAYER_MODULES],
        minify: true,
        logLevel: 'error',
      });
      const size = statSync(outfile).size;
      const ms = median(Array.from({ length: runs }, () => importMs(probe, outfile)));
      log(`[coldstart] ${name}: ${(size / 1024).toFixed(0)} KiB, import ${ms.toFixed(1)} ms`);
      rows.push({ bench: 'coldstart', case: `${name} bundle`, figure: Math.round(size / 1024), unit: 'KiB' });
      rows.push({
        bench: 'coldstart',
        case: `${name} import (median of ${runs})`,
        figure: Math.round(ms * 10) / 10,
        unit: 'ms',
        reference: 'node (nothing imported)',
        referenceFigure: Math.round(baseline * 10) / 10,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
