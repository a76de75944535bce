/**
 * Errors the workflow branches on. Their class names are the `Error` strings that the state
 * machine's Retry and Catch match, so the CDK construct imports the names from here.
 */
export class TransientStorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientStorageError';
  }
}

/** The source disk is gone or unreadable: retrying will not help. */
export class SourceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUnavailableError';
  }
}

/** The source's bytes are not a disk image format the service takes (PrepareSource, imports). */
export class SourceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceFormatError';
  }
}

/** The source disk is larger than the minimum disk size the caller declared (IMS `min_disk`). */
export class MinDiskTooSmallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MinDiskTooSmallError';
  }
}

/** The image or job is no longer in the state the build expects (deleted or cancelled meanwhile). */
export class BuildConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildConflictError';
  }
}

/** Errors worth retrying inside a Task: ours plus the Lambda service's own. */
export const RETRYABLE_ERRORS = [
  'TransientStorageError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;
