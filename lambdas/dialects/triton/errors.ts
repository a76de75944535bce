/**
 * Triton CloudAPI errors: core code → status and wire code, rendered as `{code, message}` (plus
 * IMGAPI's `errors: [{field, code, message}]` when fields are at fault). The `satisfies` clause makes
 * a core code without a row a compile error.
 */
import type { CoreCode, ServiceError } from '../../core/errors';
import type { HttpResponse } from '../../http/middleware';

interface Row {
  status: number;
  wireCode: string;
  description: string;
}

export const TRITON_ERRORS = {
  ValidationFailed: { status: 409, wireCode: 'InvalidArgument', description: 'A field has an invalid value' },
  MissingParameter: { status: 409, wireCode: 'MissingParameter', description: 'A required field is missing' },
  InvalidParameter: { status: 422, wireCode: 'InvalidParameter', description: 'A referenced resource cannot be used by the caller' },
  InvalidArgument: {
    status: 409,
    wireCode: 'InvalidArgument',
    description: 'The request has a field or action the operation does not take',
  },
  ResourceNotFound: { status: 404, wireCode: 'ResourceNotFound', description: 'No such resource visible to the caller' },
  NotAuthorized: { status: 403, wireCode: 'NotAuthorized', description: 'The caller may not do this' },
  InvalidCredentials: { status: 401, wireCode: 'InvalidCredentials', description: 'The credentials are missing or wrong' },
  StateConflict: { status: 409, wireCode: 'InvalidState', description: 'The resource is not in a state that allows this' },
  MachineNotStopped: { status: 409, wireCode: 'InvalidState', description: 'The machine must be stopped first' },
  NotAvailable: { status: 501, wireCode: 'NotAvailable', description: 'Not supported for this image or machine' },
  ServiceUnavailable: { status: 503, wireCode: 'ServiceUnavailable', description: 'A dependency is unavailable; retry later' },
  RequestTooLarge: { status: 413, wireCode: 'RequestTooLarge', description: 'The request body is too large' },
  MalformedRequest: { status: 400, wireCode: 'BadRequest', description: 'The request cannot be parsed' },
  QuotaExceeded: { status: 409, wireCode: 'QuotaExceeded', description: 'The account is at one of its quotas (images, concurrent builds)' },
} satisfies Record<CoreCode, Row>;

export function renderTritonError(error: ServiceError | undefined, req: { requestId: string }): HttpResponse {
  if (!error) {
    return { status: 500, body: { code: 'InternalError', message: `internal error (request ${req.requestId})` } };
  }
  const row = TRITON_ERRORS[error.code];
  const fieldIssues = error.issues.filter((i) => i.field);
  return {
    status: row.status,
    body: {
      code: row.wireCode,
      message: error.message,
      ...(fieldIssues.length && row.status !== 404
        ? { errors: fieldIssues.map((i) => ({ field: i.field, code: i.code === 'Unknown' ? 'Invalid' : i.code, message: i.message })) }
        : {}),
    },
  };
}
