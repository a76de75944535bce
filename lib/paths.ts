/**
 * Where the project's folders are, found from this file upwards rather than with fixed `../..`
 * hops: the CDK app runs both from source (jest) and bundled into `.local/dist` (scripts/run-ts.mjs).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

const findRepoRoot = (start: string): string => {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'lambdas', 'routes.ts')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no project root (with lambdas/routes.ts) above ${start}`);
  }
};

export const REPO_ROOT = findRepoRoot(__dirname);
export const LAMBDAS_DIR = path.join(REPO_ROOT, 'lambdas');
export const LOCK_FILE = path.join(REPO_ROOT, 'package-lock.json');

/** Absolute path of a handler entry given relative to `lambdas/` (as in routes.ts and taskEntry). */
export const lambdaEntry = (entry: string): string => path.join(LAMBDAS_DIR, entry);
