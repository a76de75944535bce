/**
 * Huawei IMS errors. IMS's own errors are `{"error": {"code": "IMG.xxxx", "message": "…"}}`
 * (API reference, "Error Codes", ims_03_0908); gateway and authentication errors use the flat
 * API Gateway shape `{"error_code": "APIGW.xxxx", "error_msg": "…", "request_id": "…"}`.
 *
 * The table maps each core code to a status and an IMG code; `satisfies` makes a core code without
 * a row a compile error. Where IMS distinguishes field problems the core reports as one code
 * (IMG.0002 name too long vs IMG.0004 description vs IMG.0013 name missing …), `FIELD_CODES` refines
 * the row by the first field issue, so schemas and use cases report fields, never IMG codes.
 *
 * Codes checked against the published table: IMG.0001–IMG.0013, IMG.0024, IMG.0046. The 404 code
 * (IMG.0027 here) and the 5xx ones are ours: IMS answers those with Glance/gateway bodies; clients
 * key on the status.
 */
import type { CoreCode, FieldIssue, ServiceError } from '../../core/errors';
import type { HttpResponse } from '../../http/middleware';

interface Row {
  status: number;
  imgCode: string;
  description: string;
}

export const IMS_ERRORS = {
  ValidationFailed: { status: 400, imgCode: 'IMG.0001', description: 'The request message format is invalid.' },
  MissingParameter: { status: 400, imgCode: 'IMG.0001', description: 'A required parameter is missing.' },
  InvalidParameter: { status: 400, imgCode: 'IMG.0001', description: 'A parameter value cannot be used.' },
  InvalidArgument: { status: 400, imgCode: 'IMG.0001', description: 'The request has a parameter the operation does not take.' },
  ResourceNotFound: { status: 404, imgCode: 'IMG.0027', description: 'The resource does not exist.' },
  NotAuthorized: { status: 403, imgCode: 'IMG.0032', description: 'You do not have the rights to perform the operation.' },
  InvalidCredentials: { status: 401, imgCode: 'APIGW.0301', description: 'Authentication failed.' },
  StateConflict: { status: 400, imgCode: 'IMG.0046', description: 'The image is unavailable.' },
  MachineNotStopped: {
    status: 400,
    imgCode: 'IMG.0008',
    description: 'The ECS cannot be used to create images because it is not in stopped state.',
  },
  NotAvailable: { status: 400, imgCode: 'IMG.0024', description: 'The operation is not supported for this image.' },
  ServiceUnavailable: { status: 503, imgCode: 'IMG.0500', description: 'The service is unavailable.' },
  RequestTooLarge: { status: 413, imgCode: 'IMG.0001', description: 'The request body is too large.' },
  MalformedRequest: { status: 400, imgCode: 'IMG.0001', description: 'The request message format is invalid.' },
  QuotaExceeded: { status: 400, imgCode: 'IMG.0001', description: 'The image quota is exceeded (GET /v1/cloudimages/quota).' },
} satisfies Record<CoreCode, Row>;

/** `<core code>:<field>:<issue code>` (or `<core code>:<field>`) → a more specific IMG code. */
const FIELD_CODES: Record<string, string> = {
  'ValidationFailed:(body):MissingParameter': 'IMG.0007',
  'MissingParameter:(body)': 'IMG.0007',
  'MissingParameter:name': 'IMG.0013',
  'ValidationFailed:name': 'IMG.0002',
  'ValidationFailed:description': 'IMG.0004',
  'ValidationFailed:__description': 'IMG.0004',
  'MissingParameter:instance_id': 'IMG.0012',
  'InvalidParameter:machine': 'IMG.0005',
  'InvalidParameter:volume': 'IMG.0005',
  'InvalidParameter:disk': 'IMG.0005',
  'InvalidParameter:name': 'IMG.0009',
};

/** The IMG code for an error: the row's, refined by its first field issue. */
export function imgCodeFor(error: ServiceError): { status: number; code: string } {
  const row = IMS_ERRORS[error.code];
  // The issue that decided the core code: a missing field for MissingParameter, else the first.
  const first: FieldIssue | undefined =
    (error.code === 'MissingParameter' ? error.issues.find((i) => i.code === 'MissingParameter') : undefined) ?? error.issues[0];
  if (first) {
    const field =
      first.field
        .split('.')
        .filter((p) => !/^\d+$/.test(p))
        .pop() ?? first.field;
    // IMG.0003 (name format) and IMG.0002 (name length) are both "name is invalid" to the core.
    if (error.code === 'ValidationFailed' && field === 'name' && /format/.test(first.message))
      return { status: row.status, code: 'IMG.0003' };
    const code = FIELD_CODES[`${error.code}:${first.field}:${first.code}`] ?? FIELD_CODES[`${error.code}:${field}`];
    if (code) return { status: row.status, code };
  }
  return { status: row.status, code: row.imgCode };
}

export function renderImsError(error: ServiceError | undefined, req: { requestId: string }): HttpResponse {
  if (!error) return { status: 500, body: { error: { code: 'IMG.0500', message: `Internal service error (request ${req.requestId}).` } } };
  // Authentication failures come from the gateway layer in IMS: its flat shape.
  if (error.code === 'InvalidCredentials' || error.code === 'NotAuthorized') {
    const status = IMS_ERRORS[error.code].status;
    return {
      status,
      body: { error_code: status === 401 ? 'APIGW.0301' : 'APIGW.0302', error_msg: error.message, request_id: req.requestId },
    };
  }
  const { status, code } = imgCodeFor(error);
  return { status, body: { error: { code, message: error.message } } };
}
