/**
 * The core's error hierarchy. Codes are stable and carry no HTTP status and no wire shape: each
 * dialect maps a code to its own status and body in its `errors.ts` table (dialect → core ← adapters).
 */
export type CoreCode =
  | 'ValidationFailed'
  | 'MissingParameter'
  | 'InvalidParameter'
  | 'InvalidArgument'
  | 'ResourceNotFound'
  | 'NotAuthorized'
  | 'InvalidCredentials'
  | 'StateConflict'
  | 'MachineNotStopped'
  | 'NotAvailable'
  | 'ServiceUnavailable'
  | 'RequestTooLarge'
  | 'MalformedRequest'
  | 'QuotaExceeded';

export interface FieldIssue {
  field: string;
  code: 'MissingParameter' | 'Invalid' | 'Unknown';
  message: string;
}

export abstract class ServiceError extends Error {
  abstract readonly code: CoreCode;
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** One or more request fields are wrong; `issues` lists every problem at once. */
export class ValidationError extends ServiceError {
  readonly code: CoreCode = 'ValidationFailed';
}

/** A required field is absent (CloudAPI answers 409 MissingParameter). */
export class MissingParameterError extends ServiceError {
  readonly code = 'MissingParameter' as const;
}

/** A referenced resource exists but is not usable by the caller, or a value is not acceptable. */
export class InvalidParameterError extends ServiceError {
  readonly code = 'InvalidParameter' as const;
}

/** The request carries something the operation does not take (unknown field, unknown action). */
export class InvalidArgumentError extends ServiceError {
  readonly code = 'InvalidArgument' as const;
}

/** Absent, or present but not the caller's to see: both answer the same way. */
export class NotFoundError extends ServiceError {
  readonly code = 'ResourceNotFound' as const;
}

export class NotAuthorizedError extends ServiceError {
  readonly code = 'NotAuthorized' as const;
}

export class InvalidCredentialsError extends ServiceError {
  readonly code = 'InvalidCredentials' as const;
}

/** A conditional write lost: the item is not in the state (or revision) the change expected. */
export class StateConflictError extends ServiceError {
  readonly code = 'StateConflict' as const;
  constructor(
    message: string,
    readonly currentState?: string,
  ) {
    super(message);
  }
}

export class MachineNotStoppedError extends ServiceError {
  readonly code = 'MachineNotStopped' as const;
}

export class NotAvailableError extends ServiceError {
  readonly code = 'NotAvailable' as const;
}

/** A dependency (storage, workflow engine) refused or failed; the request may be retried. */
export class ServiceUnavailableError extends ServiceError {
  readonly code = 'ServiceUnavailable' as const;
}

export class RequestTooLargeError extends ServiceError {
  readonly code = 'RequestTooLarge' as const;
}

export const isServiceError = (e: unknown): e is ServiceError => e instanceof ServiceError;

/** The request itself cannot be read (malformed JSON, wrong content type). */
export class MalformedRequestError extends ServiceError {
  readonly code = 'MalformedRequest' as const;
}

/**
 * A stored image file no longer matches its manifest (size, sha1 or sha256): corrupted or replaced
 * in storage. Nothing is made from it; to the caller the image is unusable (a state conflict).
 */
export class ImageFileCorruptError extends StateConflictError {
  constructor(message: string) {
    super(message, 'corrupt');
  }
}
