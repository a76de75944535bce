/**
 * `npm start` ready means ready: a second stack is started exactly as `npm start` runs it (its own
 * ports and data folder), the ping is polled from the moment the process starts, and an admin
 * command run right after the first answered ping works (the state file exists, the seed is done).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('npm start readiness', () => {
  let child: ChildProcess | undefined;
  let dir: string;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('an admin command right after the first answered ping succeeds', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mis-ready-'));
    const stateFile = path.join(dir, 'stack.json');
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        '--openssl-legacy-provider',
        'scripts/run-ts.mjs',
        'local/main.ts',
        'start',
        '--port',
        String(port),
        '--data-dir',
        path.join(dir, 'data'),
        '--state-file',
        stateFile,
      ],
      {
        cwd: ROOT,
        stdio: 'ignore',
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      },
    );
    let pinged = false;
    for (let i = 0; i < 1200 && !pinged; i++) {
      try {
        pinged = (await fetch(`http://127.0.0.1:${port}/--ping`, { signal: AbortSignal.timeout(60_000) })).ok;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(pinged).toBe(true);
    // Not the jest run's own stack: no deployed-stack variables, only the state file.
    const env = { ...process.env, TABLE_NAME: '', DISKS_BUCKET: '', IMAGES_BUCKET: '' };
    const admin = spawnSync(
      process.execPath,
      [
        '--openssl-legacy-provider',
        'scripts/run-ts.mjs',
        'local/main.ts',
        'admin',
        'account',
        'create',
        'readyuser',
        '--state-file',
        stateFile,
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env,
      },
    );
    expect({ status: admin.status, stderr: admin.stderr }).toEqual({
      status: 0,
      stderr: expect.not.stringMatching(/no local stack|not answering/),
    });
    expect(JSON.parse(admin.stdout)).toMatchObject({ login: 'readyuser' });
    // The seed is done too: the demo account exists.
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const demo = spawnSync(
      process.execPath,
      ['--openssl-legacy-provider', 'scripts/run-ts.mjs', 'local/main.ts', 'admin', 'account', 'create', 'demo', '--state-file', stateFile],
      { cwd: ROOT, encoding: 'utf8', env },
    );
    expect(demo.status).not.toBe(0);
    expect(state.url).toBe(`http://127.0.0.1:${port}`);
  });
});
