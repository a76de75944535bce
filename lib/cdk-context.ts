/**
 * The CDK context of `cdk.json` (the recommended feature flags): the CLI hands it to bin/app.ts, and
 * every App this repository builds itself — the infra tests, the local stack's in-process synthesis
 * (lib/local-asl.ts) — starts from it too, so the template they check and run is the one that deploys.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths';

let cached: Record<string, unknown> | undefined;

/** cdk.json's `context`, plus `extra` (which wins). */
export function cdkContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  cached ??= (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  return { ...cached, ...extra };
}
