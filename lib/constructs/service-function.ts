/**
 * The one way this stack makes a Lambda function: a NodejsFunction on nodejs24.x/arm64, bundled by the
 * local esbuild (never Docker), with its own retained-for-a-while log group.
 *
 * Bundling choices, and why:
 * - The AWS SDK v3 clients are bundled in (`bundleAwsSDK`), not taken from the runtime: the handlers
 *   then run the exact versions pinned in package-lock.json, the ones the unit and integration tests
 *   ran (the runtime's copy changes under us and lags behind), and per-client imports keep it small.
 * - ESM output, preferring packages' `module` entry points, so esbuild can tree-shake the SDK's ES
 *   builds; middy 7 is ESM-only anyway. The banner gives bundled CommonJS dependencies a `require`.
 * - Minified with a separate source map; `NODE_OPTIONS=--enable-source-maps` maps stack traces back.
 * - The Powertools Tracer and its X-Ray SDK are left out and come from the official Powertools layer
 *   (lib/powertools-layer.ts): the tracer loads only when tracing is on, so no bundle carries it.
 *
 * Every function is traced by X-Ray (active tracing) and runs under a role shared with the functions
 * that need the same grants (`roleKey`, lib/constructs/function-roles.ts), which may write only to
 * the log groups of its own functions.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LOCK_FILE, REPO_ROOT, lambdaEntry } from '../paths';
import { FunctionRoles } from './function-roles';
import { POWERTOOLS_LAYER_MODULES, powertoolsLayer } from '../powertools-layer';
import { METRIC_NAMESPACE } from '../../lambdas/ops/metric-names';

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const SERVICE_NAME = 'machine-image-service';
/** CloudWatch namespace of the service's own metrics (Powertools Metrics; lib/constructs/monitoring.ts). */
export const METRICS_NAMESPACE = METRIC_NAMESPACE;
/**
 * Template metadata naming a function's handler (its `entry`, relative to `lambdas/`): how the local
 * stack finds the code behind a function it meets in the template (lib/local-template.ts).
 */
export const ENTRY_METADATA = 'machine-image-service:entry';

export interface ServiceFunctionProps {
  /** Handler file relative to `lambdas/`, as in routes.ts. */
  entry: string;
  /**
   * The shared execution role (lib/constructs/function-roles.ts): functions with the same key share one
   * role and therefore every grant made to any of them. Name it after the grant set.
   */
  roleKey: string;
  description?: string;
  /**
   * How the function is invoked. `sync`: by API Gateway or Step Functions, which see the failure and
   * answer or retry it (a dead-letter queue only ever receives asynchronous invocations). `async`: by
   * EventBridge; give it `deadLetterQueue`, or an on-failure destination and say so at the call site.
   */
  invocation: 'sync' | 'async';
  /** Where Lambda puts an asynchronous event it could not process after its retries. */
  deadLetterQueue?: IQueue;
  /** @default 256 */
  memorySize?: number;
  /** @default 30 seconds */
  timeout?: Duration;
  environment?: Record<string, string>;
  /**
   * Packages shipped in the function's node_modules instead of bundled (NodejsFunction
   * `bundling.nodeModules`): for code a worker thread loads by path (lambdas/pipeline/dual-hash.ts).
   */
  nodeModules?: string[];
  /** @default one month */
  logRetention?: RetentionDays;
}

const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export const createServiceFunction = (scope: Construct, id: string, props: ServiceFunctionProps): NodejsFunction => {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const roles = FunctionRoles.of(scope);
  const role = roles.role(props.roleKey);
  roles.allowLogs(props.roleKey, logGroup);
  const fn = new NodejsFunction(scope, id, {
    entry: lambdaEntry(props.entry),
    handler: 'handler',
    description: props.description,
    runtime: LAMBDA_RUNTIME,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout ?? Duration.seconds(30),
    logGroup,
    role,
    tracing: Tracing.ACTIVE,
    layers: [powertoolsLayer(scope)],
    deadLetterQueue: props.deadLetterQueue,
    projectRoot: REPO_ROOT,
    depsLockFilePath: LOCK_FILE,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      ...props.environment,
    },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      bundleAwsSDK: true,
      externalModules: [...POWERTOOLS_LAYER_MODULES],
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      ...(props.nodeModules && { nodeModules: props.nodeModules }),
    },
  });
  (fn.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA, props.entry);
  if (props.invocation === 'sync') {
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously (API Gateway or a Step Functions task): the caller receives the error and answers or retries it; a dead-letter queue only receives asynchronous invocations.',
    });
  }
  return fn;
};
