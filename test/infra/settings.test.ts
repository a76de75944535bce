/**
 * Operator settings (README "Configuration"): per-account quotas and the copy-in-workflow threshold,
 * given as stack props or context keys, reach every route function's environment (lambdas/wiring.ts
 * `config` reads them there); a value that is not a positive integer fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { settingsEnvironment } from '../../lib/constructs/http-api';
import { ImageServiceStack } from '../../lib/image-service-stack';
import { routes } from '../../lambdas/routes';

type Fn = { Properties: { Description?: string; Environment?: { Variables?: Record<string, unknown> } } };

function routeEnvironments(context: Record<string, unknown>): Record<string, unknown>[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const template = Template.fromStack(new ImageServiceStack(app, 'SettingsTest'));
  const descriptions = new Set(routes.map((r) => `${r.dialect} ${r.method} ${r.path}`));
  return Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Fn>)
    .filter((f) => descriptions.has(f.Properties.Description ?? ''))
    .map((f) => f.Properties.Environment?.Variables ?? {});
}

describe('operator settings', () => {
  it('context keys quotas (JSON on the command line) and copyWorkflowThresholdBytes reach every route function', () => {
    const envs = routeEnvironments({ quotas: '{"images":500,"concurrentBuilds":8}', copyWorkflowThresholdBytes: 2147483648 });
    expect(envs).toHaveLength(routes.length);
    for (const env of envs) {
      expect(env).toMatchObject({ QUOTA_IMAGES: '500', QUOTA_CONCURRENT_BUILDS: '8', COPY_WORKFLOW_THRESHOLD_BYTES: '2147483648' });
      expect(env).not.toHaveProperty('QUOTA_MACHINES');
    }
  });

  it('without settings, no function carries them (the defaults in lambdas/core/quota.ts apply)', () => {
    for (const env of routeEnvironments({}))
      expect(Object.keys(env).filter((k) => k.startsWith('QUOTA_') || k.startsWith('COPY_'))).toEqual([]);
  });

  it('refuses an unknown quota and a value that is not a positive integer', () => {
    expect(() => settingsEnvironment({ quotas: { imgs: 5 } as never })).toThrow(/unknown quota/);
    expect(() => settingsEnvironment({ quotas: { images: 0 } })).toThrow(/positive integer/);
    expect(() => settingsEnvironment({ copyWorkflowThresholdBytes: 1.5 })).toThrow(/positive integer/);
    expect(settingsEnvironment({ quotas: { machines: 7 } })).toEqual({ QUOTA_MACHINES: '7' });
  });
});
