/**
 * Classifies DynamoDB failures for the workflow: throttling, service-side and network errors that
 * outlasted the SDK's own retries are transient (the state machine's Retry on TransientStorageError
 * tries again, seconds later); everything else — a failed condition above all — is not.
 */
import { TransientStorageError } from './errors';

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'LimitExceededException',
  'TimeoutError',
  'RequestTimeout',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

export function isTransientDynamoError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return (
    TRANSIENT_NAMES.has(e.name ?? '') ||
    NETWORK_CODES.has(e.code ?? '') ||
    e.$retryable !== undefined ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** A transient DynamoDB error as the workflow's TransientStorageError; anything else unchanged. */
export function classifyDynamoError(err: unknown, what: string): unknown {
  if (!isTransientDynamoError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TransientStorageError(`${what}: ${message}`, { cause: err });
}
