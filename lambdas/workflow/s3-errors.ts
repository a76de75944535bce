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
