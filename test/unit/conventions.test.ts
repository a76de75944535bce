/**
 * Project rules that are cheap to check mechanically: the core stays free of AWS imports, request
 * paths never Scan, and zod is imported as a namespace (`import * as z`), which lets esbuild drop
 * the parts a handler doesn't use — `import { z }` pulls every locale into every bundle (+500 KiB).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const lambdas = files(path.join(ROOT, 'lambdas'));
const rel = (p: string) => path.relative(ROOT, p);

describe('conventions', () => {
  it('keeps lambdas/core free of AWS SDK and aws-lambda imports', () => {
    const offenders = lambdas
      .filter((f) => f.includes(`${path.sep}core${path.sep}`))
      .filter((f) => /from '(@aws-sdk\/[^']+|aws-lambda)'/.test(readFileSync(f, 'utf8')))
      .map(rel);
    expect(offenders).toEqual([]);
  });

  it('never scans the table in lambdas/', () => {
    const offenders = lambdas.filter((f) => /\bScanCommand\b|\.scan\(/.test(readFileSync(f, 'utf8'))).map(rel);
    expect(offenders).toEqual([]);
  });

  it('imports zod as a namespace so bundles stay small', () => {
    const offenders = [...lambdas, ...files(path.join(ROOT, 'local'))]
      .filter((f) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*'zod'/.test(readFileSync(f, 'utf8')))
      .map(rel);
    expect(offenders).toEqual([]);
  });
});
