/**
 * Acknowledging cdk-nag findings (cdk-nag 3: CDK's own `Validations.of(construct).acknowledge`) with a
 * reason, at the construct they concern. The infra tests run the AwsSolutions and Serverless packs
 * (test/infra/nag.test.ts); every finding is fixed or acknowledged here or beside its construct.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/** Acknowledges each IAM5 finding (`Resource::…` or `Action::…`) on `scope` with one reason. */
export function acknowledgeWildcards(scope: IConstruct, findings: readonly string[], reason: string): void {
  for (const finding of findings) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
}

/** The IAM5 finding of `<function ARN>:*`, the qualified-ARN grant CDK adds beside each invoked function. */
export const functionVersionsFinding = (fn: IFunction): string =>
  `Resource::<${Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*`;

export const XRAY_REASON =
  'X-Ray PutTraceSegments/PutTelemetryRecords (and the sampling reads) support no resource-level permissions: Resource "*" is the only form.';
