/**
 * UForge errors: a `uforgeError` object (statusCode, requestMethod, requestUri, timestamp,
 * localizedErrorMsg{message, messageId}) in the representation the caller accepts (XML by default).
 * The table maps each core code to the HTTP status UForge uses for it; `satisfies` makes a core code
 * without a row a compile error. `messageId` carries the core code, for clients to key on.
 */
import type { CoreCode, ServiceError } from '../../core/errors';
import type { ErrorContext, HttpResponse } from '../../http/middleware';

export const UFORGE_STATUS = {
  ValidationFailed: 400,
  MissingParameter: 400,
  InvalidParameter: 400,
  InvalidArgument: 400,
  MalformedRequest: 400,
  ResourceNotFound: 404,
  NotAuthorized: 403,
  InvalidCredentials: 401,
  StateConflict: 409,
  MachineNotStopped: 409,
  NotAvailable: 400,
  RequestTooLarge: 413,
  ServiceUnavailable: 503,
  QuotaExceeded: 403,
} satisfies Record<CoreCode, number>;

export function uforgeError(status: number, message: string, messageId: string, req: Pick<ErrorContext, 'method' | 'path'>) {
  return {
    uforgeError: {
      statusCode: status,
      requestMethod: req.method,
      requestUri: req.path,
      timestamp: new Date().toISOString(),
      localizedErrorMsg: { message, messageId },
    },
  };
}

export function renderUforgeError(error: ServiceError | undefined, req: ErrorContext): HttpResponse {
  if (!error) return { status: 500, body: uforgeError(500, `Internal service error (request ${req.requestId}).`, 'InternalError', req) };
  const status = UFORGE_STATUS[error.code];
  return { status, body: uforgeError(status, error.message, error.code, req) };
}
