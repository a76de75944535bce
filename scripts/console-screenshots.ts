/**
 * `npm run console:screenshots`: refreshes the README's pictures of the web console (docs/console-*.png).
 * Starts its own local stack (ephemeral port, temporary data), gives demo a larger machine so a build
 * lasts long enough to be seen, and drives Debian's chromium (test/helpers/browser.ts) through the UI:
 * a few images built and one shared, then the catalog, then a build caught mid-way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { launchBrowser } from '../test/helpers/browser';

const DOCS = path.join(REPO_ROOT, 'docs');

async function startStack(dir: string): Promise<{ url: string; stop: () => void }> {
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
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`local stack exited with ${code}:\n${out}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      if (/^ready$/m.test(out) && existsSync(stateFile)) resolve();
    });
  });
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string; env: Record<string, string> };
  Object.assign(process.env, state.env);
  return { url: state.url, stop: () => child.kill('SIGTERM') };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'console-shots-'));
  const stack = await startStack(dir);
  const browser = await launchBrowser();
  try {
    const { adminOps } = await import('../local/admin-ops');
    const { writeDiskFile, MiB } = await import('../test/helpers/disk-content');
    const disk = path.join(dir, 'big.raw');
    await writeDiskFile(disk, 768 * MiB, 7);
    await adminOps.registerMachine({ login: 'demo', name: 'build-01', os: 'linux', type: 'zvol', diskFile: disk, state: 'stopped' });
    const friend = await adminOps.createAccount('alice');

    const { page } = browser;
    await page.setViewportSize({ width: 1200, height: 760 });
    await page.goto(`${stack.url}/console/`);
    await page.getByLabel('Login').fill('demo');
    await page.getByLabel('Password').fill('demo-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Images' }).waitFor();

    const build = async (machine: string, name: string, version: string) => {
      await page.goto(`${stack.url}/console/#/create`);
      await page.getByRole('radio', { name: new RegExp(machine) }).check();
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Version').fill(version);
      await page.getByRole('button', { name: 'Create image' }).click();
      await page.getByRole('heading', { name: `Building ${name}` }).waitFor();
    };
    for (const [machine, name, version] of [
      ['web-01', 'web-base', '1.0.0'],
      ['db-01', 'postgres-16', '16.4'],
      ['base-zone', 'base-64', '24.4.1'],
      ['web-01', 'web-base', '1.1.0'],
    ]) {
      await build(machine, name, version);
      await page.getByTestId('job-image-state').filter({ hasText: 'active' }).waitFor({ timeout: 60_000 });
    }
    // Share one, so the catalog shows more than own images' tags and access.
    await page.getByTestId('job-image').click();
    await page.getByLabel('Share with account id').fill(friend.id);
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByText(`Shared with ${friend.id}.`).waitFor();

    await page.goto(`${stack.url}/console/#/images`);
    await page.getByRole('link', { name: 'postgres-16' }).waitFor();
    await page.screenshot({ path: path.join(DOCS, 'console-catalog.png') });

    await build('build-01', 'fleet-golden', '2026.11');
    const bar = page.getByRole('progressbar', { name: 'Build progress' });
    for (let i = 0; i < 1200; i++) {
      const v = Number(await bar.getAttribute('aria-valuenow'));
      if (v >= 30 && v <= 80) break;
      await page.waitForTimeout(100);
    }
    await page.screenshot({ path: path.join(DOCS, 'console-build.png') });
    console.log(`wrote docs/console-catalog.png and docs/console-build.png (build at ${await bar.getAttribute('aria-valuenow')}%)`);
  } finally {
    await browser.close();
    stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
