/**
 * The correlation id: one id for everything a request causes. It comes from the caller's
 * `X-Request-Id` header when that is a plain token (letters, digits, `._:-`, at most 128 characters;
 * anything else is ignored — it is written into logs and records), else it is API Gateway's request
 * id. Route handlers run inside it (lambdas/http/middleware.ts); the use cases that start a workflow
 * read it here and record it on the job (`correlation_id`) and in the execution's input
 * (`correlationId`), from which every workflow task logs it (lambdas/observability/powertools.ts).
 *
 * AsyncLocalStorage, not a module variable: the local stack runs many invocations in one process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const store = new AsyncLocalStorage<string>();

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's id when it is acceptable, else the gateway's request id. */
export function correlationIdFrom(headers: Record<string, string | undefined> | null | undefined, fallback: string): string {
  let given: string | undefined;
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === 'x-request-id') given = v;
  return given !== undefined && CORRELATION_ID.test(given) ? given : fallback;
}

/** A correlation id carried in a workflow's input (anything else is not one). */
export const isCorrelationId = (value: unknown): value is string => typeof value === 'string' && CORRELATION_ID.test(value);

export const withCorrelationId = <T>(id: string, fn: () => T): T => store.run(id, fn);

/** The correlation id of the request being served, if any. */
export const currentCorrelationId = (): string | undefined => store.getStore();
