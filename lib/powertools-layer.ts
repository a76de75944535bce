/**
 * The official Powertools for AWS Lambda (TypeScript) layer, and the modules every function takes
 * from it instead of its bundle (docs/decisions/observability.md, "Tracer from the Powertools layer").
 *
 * Only the Tracer and its X-Ray SDK come from the layer: they are about 120–150 KiB of every bundle,
 * and `lambdas/observability/powertools.ts` imports them only when tracing can be on (in Lambda), so
 * no bundle needs them at import. Logger and Metrics, which every invocation uses, stay bundled.
 *
 * The layer is the one published for the exact Tracer version this repository pins (package.json),
 * the version the tests ran: its ARN is read at deploy time from the public SSM parameter Powertools
 * publishes per version and region, `/aws/service/powertools/typescript/generic/all/<version>`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { type ILayerVersion, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { REPO_ROOT } from './paths';

/** Left out of every bundle (esbuild externals): loaded from the layer's /opt/nodejs/node_modules. */
export const POWERTOOLS_LAYER_MODULES = ['@aws-lambda-powertools/tracer', 'aws-xray-sdk-core'] as const;

/** The pinned Powertools Tracer version (an exact version in package.json, as every dependency). */
export function powertoolsVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const version = pkg.dependencies?.['@aws-lambda-powertools/tracer'];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`package.json must pin @aws-lambda-powertools/tracer to an exact version (the layer's), got ${version}`);
  return version;
}

/** The SSM parameter that holds the layer version ARN of a Powertools release, in every commercial region. */
export const powertoolsLayerParameter = (version: string): string => `/aws/service/powertools/typescript/generic/all/${version}`;

const LAYER_ID = 'PowertoolsLayer';

/** The stack's one reference to the Powertools layer (an imported layer: no resource). */
export function powertoolsLayer(scope: Construct): ILayerVersion {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(LAYER_ID) as ILayerVersion | undefined;
  if (existing) return existing;
  const arn = StringParameter.valueForStringParameter(stack, powertoolsLayerParameter(powertoolsVersion()));
  return LayerVersion.fromLayerVersionArn(stack, LAYER_ID, arn);
}
