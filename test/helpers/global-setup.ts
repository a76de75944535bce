/**
 * Starts ONE embedded local stack for the whole integration run — exactly what `npm start` runs,
 * in a child process, on ephemeral ports and a temporary data folder — and tells the test workers
 * where it is through LOCAL_STACK_FILE.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 120_000;
const OUTPUT_KEPT = 64 * 1024;
/** Chunked builds scaled down (lambdas/workflow/chunked.ts): disks from 64 MiB build in 16 MiB ranges. */
export const TEST_CHUNKING = {
  thresholdBytes: 64 * 1024 * 1024,
  rangeBytes: 16 * 1024 * 1024,
  hashBytesPerInvocation: 32 * 1024 * 1024,
  maxConcurrency: 4,
};

/**
 * Copies above 1 MiB are multipart copies of 5 MiB parts (S3's minimum), so tests exercise that path with small files;
 * clones and IMS exports of files from 20 MiB run in the build workflow (test/integration/workflow/copy-workflow.test.ts).
 */
export const TEST_COPY = { multipartThresholdBytes: 1024 * 1024, partBytes: 5 * 1024 * 1024, workflowThresholdBytes: 20 * 1024 * 1024 };

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mis-it-'));
  const stateFile = path.join(dir, 'stack.json');
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      'scripts/run-ts.mjs',
      'local/main.ts',
      'start',
      '--port',
      '0',
      '--data-dir',
      path.join(dir, 'data'),
      '--state-file',
      stateFile,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        LOCAL_CHUNKING: JSON.stringify(TEST_CHUNKING),
        LOCAL_COPY: JSON.stringify(TEST_COPY),
      },
    },
  );
  // the stack's output, its last OUTPUT_KEPT characters: shown if it fails to start or dies mid-run
  let output = '';
  const keep = (d: Buffer | string): void => {
    output += d;
    if (output.length > 2 * OUTPUT_KEPT) output = output.slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', (d) => {
    keep(d);
    if (process.env.LOCAL_STACK_DEBUG) process.stderr.write(d);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local stack exited with ${code}:\n${output}`));
    });
    child.stdout!.on('data', () => {
      if (/^ready$/m.test(output) && existsSync(stateFile)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.env.LOCAL_STACK_FILE = stateFile;
  process.env.LOCAL_STACK_URL = JSON.parse(readFileSync(stateFile, 'utf8')).url;
  const stack = { child, dir, stopping: false };
  (globalThis as Record<string, unknown>).__LOCAL_STACK__ = stack;
  // Every later test fails with "connection refused" if the stack dies mid-run: say so once, with why.
  child.on('exit', (code, signal) => {
    if (stack.stopping) return;
    process.stderr.write(
      `\nThe local stack exited during the run (code ${code}, signal ${signal}); the tests after this cannot reach it. Its last output:\n${output.slice(-OUTPUT_KEPT)}\n`,
    );
  });
}
