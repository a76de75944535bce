/**
 * The one test that really bundles: a single route handler, through the same settings as every
 * function of the stack (local esbuild, no Docker, ESM + createRequire banner, SDK bundled in). The
 * bundle must load in plain Node and export `handler`, and leave the Powertools Tracer and its X-Ray
 * SDK to the Powertools layer (lib/powertools-layer.ts). The other infra tests skip bundling.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { routes } from '../../lambdas/routes';
import { createServiceFunction } from '../../lib/constructs/service-function';
import { powertoolsLayerParameter, powertoolsVersion } from '../../lib/powertools-layer';

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
    const assembly = app.synth();
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
    // the tracer is imported (only when tracing is on) from the layer, not bundled
    const code = readFileSync(bundle, 'utf8');
    expect(code).toContain('import("@aws-lambda-powertools/tracer")');
    expect(code.match(/AWSXRay|aws-xray-sdk/g)).toBeNull();
    // … and the function has that layer: the one of the pinned Tracer version
    const template = Template.fromJSON(assembly.getStackByName('BundlingProbe').template);
    const layers = Object.values(template.findResources('AWS::Lambda::Function'))[0].Properties.Layers;
    expect(layers).toHaveLength(1);
    const parameter = template.toJSON().Parameters[layers[0].Ref];
    expect(parameter).toMatchObject({ Type: 'AWS::SSM::Parameter::Value<String>', Default: powertoolsLayerParameter(powertoolsVersion()) });
  });
});
