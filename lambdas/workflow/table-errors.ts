/**
 * Classifies DynamoDB failures for the workflow: throttling and server errors (which the SDK has
 * already retried) become TransientStorageError, so the Task's Retry runs it again; the rest pass.
 */
import { TransientStorageError } from './errors';

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
]);

export function classifyTableError(err: unknown, what: string): unknown {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (TRANSIENT.has(e?.name ?? '') || (e?.$metadata?.httpStatusCode ?? 0) >= 500) {
    return new TransientStorageError(`${what}: ${e?.message ?? String(err)}`, { cause: err });
  }
  return err;
}
