/**
 * Powertools for every function of the service: one Logger, one Metrics, and the Tracer, with the
 * middy middlewares each handler wears (docs/decisions/observability.md).
 *
 * - Logger: JSON lines with the Lambda context (`injectLambdaContext`) and `correlation_id`. The
 *   event is never logged (`logEvent: false`, whatever POWERTOOLS_LOGGER_LOG_EVENT says): it holds
 *   Authorization headers, tokens and signatures.
 * - Metrics: the contract the stack's alarms and dashboard read — namespace `MachineImageService`,
 *   default dimension `service=machine-image-service`; see METRIC below.
 * - Tracer: Powertools' `captureLambdaHandler`, loaded only when tracing can be on (in Lambda, with
 *   POWERTOOLS_TRACE_ENABLED not `false`): its X-Ray SDK is then imported at the first invocation
 *   and never outside Lambda (the local stack, tests, the admin commands). Responses are not
 *   captured as trace metadata: they carry tokens and presigned URLs.
 */
import type { MiddlewareObj } from '@middy/core';
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { isCorrelationId } from './correlation';

export const SERVICE_NAME = 'machine-image-service';
export const METRICS_NAMESPACE = 'MachineImageService';

/** The service's metrics (lib/ alarms and dashboard depend on these names, units and dimensions). */
export const METRIC = {
  /** An image build succeeded (Finalize). Dims {service}. */
  ImagesCreated: { name: 'ImagesCreated', unit: MetricUnit.Count },
  /** An image build ended failed (MarkFailed, or the execution-status rule). Dims {service}. */
  ImagesFailed: { name: 'ImagesFailed', unit: MetricUnit.Count },
  /** Size of a built image file. Dims {service}. */
  BuildBytes: { name: 'BuildBytes', unit: MetricUnit.Bytes },
  /** From the job's creation to the image being active. Dims {service}. */
  BuildSeconds: { name: 'BuildSeconds', unit: MetricUnit.Seconds },
  /** A request the authorizer refused. Dims {service, Scheme}: signature | basic | token | aksk. */
  AuthFailures: { name: 'AuthFailures', unit: MetricUnit.Count },
  /** The same refusals by why (lambdas/auth/refusal.ts). Dims {service, Scheme, Reason}; Reason is one of a fixed list. */
  AuthFailuresByReason: { name: 'AuthFailuresByReason', unit: MetricUnit.Count },
} as const;

export const logger = new Logger({ serviceName: SERVICE_NAME });

/** Powertools Metrics warns on every invocation that emits nothing (most of ours): that is not news. */
const metricsLogger = {
  debug: (...a: unknown[]) => logger.debug(String(a[0]), ...a.slice(1).map((x) => ({ detail: x }))),
  info: (...a: unknown[]) => logger.info(String(a[0]), ...a.slice(1).map((x) => ({ detail: x }))),
  warn: (...a: unknown[]) => {
    if (typeof a[0] === 'string' && a[0].startsWith('No application metrics to publish')) return;
    logger.warn(String(a[0]), ...a.slice(1).map((x) => ({ detail: x })));
  },
  error: (...a: unknown[]) => logger.error(String(a[0]), ...a.slice(1).map((x) => ({ detail: x }))),
};

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger: metricsLogger });

type MetricName = keyof typeof METRIC;

/** Adds a metric to the invocation's batch (flushed by `logMetrics` when the handler returns). */
export function countMetric(name: MetricName, value = 1): void {
  metrics.addMetric(METRIC[name].name, METRIC[name].unit, value);
}

/**
 * One auth failure, published at once with its Scheme dimension (the batch has only {service}), and
 * again by Scheme and Reason: a metric of its own, so AuthFailures keeps the dimensions alarms and the
 * dashboard read.
 */
export function countAuthFailure(scheme: string, reason?: string): void {
  const single = metrics.singleMetric();
  single.addDimension('Scheme', scheme);
  single.addMetric(METRIC.AuthFailures.name, METRIC.AuthFailures.unit, 1);
  if (reason === undefined) return;
  const byReason = metrics.singleMetric();
  byReason.addDimensions({ Scheme: scheme, Reason: reason });
  byReason.addMetric(METRIC.AuthFailuresByReason.name, METRIC.AuthFailuresByReason.unit, 1);
}

/** Whether Powertools' Tracer would trace here (its own rule: in Lambda, unless switched off). */
export const tracingWanted = (env: NodeJS.ProcessEnv = process.env): boolean =>
  !!env.AWS_EXECUTION_ENV &&
  env.AWS_EXECUTION_ENV !== 'AWS_Lambda_amplify-mock' &&
  !env.AWS_SAM_LOCAL &&
  (env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false';

/**
 * Powertools' `captureLambdaHandler`, created at the first invocation that wants it. Importing the
 * tracer loads the X-Ray SDK, which costs a bundle's import time; where tracing is off it never loads.
 */
export function tracing(): MiddlewareObj {
  let inner: Promise<MiddlewareObj | undefined> | undefined;
  const load = () =>
    (inner ??= tracingWanted()
      ? import('@aws-lambda-powertools/tracer')
          .then(async ({ Tracer }) => {
            const { captureLambdaHandler } = await import('@aws-lambda-powertools/tracer/middleware');
            return captureLambdaHandler(new Tracer({ serviceName: SERVICE_NAME }), { captureResponse: false }) as MiddlewareObj;
          })
          .catch((error: unknown) => {
            // a bundle that leaves the tracer out (to a layer) and runs without it: serve untraced
            logger.warn('tracing is on but the tracer could not be loaded; continuing without it', { error: error as Error });
            return undefined;
          })
      : Promise.resolve(undefined));
  return {
    before: async (request) => {
      await (await load())?.before?.(request);
    },
    after: async (request) => {
      await (await load())?.after?.(request);
    },
    onError: async (request) => {
      await (await load())?.onError?.(request);
    },
  };
}

/**
 * The Powertools middlewares every function wears, outermost first: the Lambda context and a fresh
 * set of keys on the logger, the trace segment, and the metrics flush.
 */
export function powertools(): MiddlewareObj[] {
  return [injectLambdaContext(logger, { resetKeys: true, logEvent: false }), tracing(), logMetrics(metrics)];
}

/** The correlation id a workflow task's input carries (its execution's, lambdas/observability/correlation.ts). */
export function correlationIdOfInput(input: unknown): string | undefined {
  const id = (input as { correlationId?: unknown } | null)?.correlationId;
  return isCorrelationId(id) ? id : undefined;
}

/**
 * A workflow task (or rule target) as a Lambda handler with Powertools: it logs the correlation id of
 * its execution, one line per invocation (its outcome and duration) and any error it throws — by name
 * and message; Step Functions gets the error unchanged, to retry or catch.
 */
export function observedTask<E, R>(
  name: string,
  run: (event: E, context: Context) => Promise<R>,
  opts: { correlationId?: (event: E) => string | undefined; keys?: (event: E) => Record<string, unknown> } = {},
) {
  const core = async (event: E, context: Context): Promise<R> => {
    const correlationId = (opts.correlationId ?? correlationIdOfInput)(event);
    const keys = { task: name, ...(correlationId && { correlation_id: correlationId }), ...idsOf(event), ...opts.keys?.(event) };
    logger.appendKeys(keys);
    const startedAt = Date.now();
    try {
      const result = await run(event, context);
      logger.info('task', { outcome: 'ok', ms: Date.now() - startedAt });
      return result;
    } catch (err) {
      const e = err as Error;
      logger.warn('task', { outcome: 'error', ms: Date.now() - startedAt, error_name: e?.name, error_message: e?.message });
      throw err;
    }
  };
  // No early timeout (middy's default answers a TimeoutError 5 ms before the deadline): a task that
  // outlives its function fails as Lambda reports it, Sandbox.Timedout, which the workflow's Catch path
  // records on the image and job (docs/decisions/local-limits.md).
  return middy(core, { timeoutEarlyInMillis: 0 }).use(powertools());
}

/** The ids a workflow input names (job, image, machine), to find a build's lines together. */
export function idsOf(event: unknown): Record<string, string> {
  const e = (event ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [from, to] of [
    ['jobId', 'job_id'],
    ['imageId', 'image_id'],
    ['machineId', 'machine_id'],
  ] as const) {
    if (typeof e[from] === 'string') out[to] = e[from] as string;
  }
  return out;
}
