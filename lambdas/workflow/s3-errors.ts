/** Classifies S3 failures for the workflow: missing source → not retryable, the rest → transient. */
import { SourceUnavailableError, TransientStorageError } from './errors';

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export function classifyS3Error(err: unknown, what: string): Error {
  if (isNotFound(err)) return new SourceUnavailableError(`${what} does not exist`);
  const message = err instanceof Error ? err.message : String(err);
  return new TransientStorageError(`${what}: ${message}`, { cause: err });
}

const TRANSIENT_S3_NAMES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/** An S3 failure worth another attempt: a 5xx, throttling, a timeout or the network (the SDK's own retries outlasted). */
export function isTransientS3Error(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (!e || typeof e !== 'object') return false;
  return TRANSIENT_S3_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '') || (e.$metadata?.httpStatusCode ?? 0) >= 500;
}
