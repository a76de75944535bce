/**
 * The one test that really bundles: a single route handler, through the same settings as every
 * function of the stack (local esbuild, no Docker, ESM + createRequire banner, SDK bundled in). The
 * bundle must load in plain Node and export `handler`. The other infra tests skip bundling.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { routes } from '../../lambdas/routes';
import { createServiceFunction } from '../../lib/constructs/service-function';

describe('createServiceFunction bundling', () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'image-service-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles a route handler with the local esbuild into an ESM file that loads and exports handler', () => {
    // Prepare
    const ping = routes.find((r) => r.operation === 'Ping')!;
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'BundlingProbe');
    createServiceFunction(stack, 'Ping', { entry: ping.entry, roleKey: 'Ping', invocation: 'sync' });

    // Act
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    const bundle = path.join(outdir, assets[0] ?? 'missing', 'index.mjs');
    const exported = existsSync(bundle)
      ? execFileSync(
          process.execPath,
          ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); console.log(typeof m.handler);`],
          {
            encoding: 'utf8',
            env: { ...process.env, AWS_REGION: 'us-east-1' },
          },
        ).trim()
      : 'no bundle';

    // Assess
    expect(assets).toHaveLength(1);
    expect(readFileSync(bundle, 'utf8')).toMatch(/^import \{ createRequire as __createRequire \} from 'node:module';/);
    expect(exported).toBe('function');
  });
});
