import { parseCreateImageFromMachine } from '../../../lambdas/dialects/triton/schemas';
import { renderTritonError, TRITON_ERRORS } from '../../../lambdas/dialects/triton/errors';
import {
  InvalidArgumentError,
  MissingParameterError,
  NotFoundError,
  ValidationError,
  type ServiceError,
} from '../../../lambdas/core/errors';

const machine = '3e5f8a2c-9f4b-4c1e-8a6d-2b7c9d0e1f2a';
const catchError = (fn: () => unknown): ServiceError => {
  try {
    fn();
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected an error');
};

describe('Triton CreateImageFromMachine schema', () => {
  it('accepts the CloudAPI inputs', () => {
    const cmd = parseCreateImageFromMachine({
      machine,
      name: 'my image/1',
      version: '1.0.0-rc.1',
      description: 'd',
      tags: { role: 'db', n: 1, ok: true },
      acl: [machine],
    });
    expect(cmd).toMatchObject({ machine, name: 'my image/1', version: '1.0.0-rc.1', tags: { role: 'db', n: 1, ok: true } });
  });

  it('reports every missing field as MissingParameter', () => {
    const err = catchError(() => parseCreateImageFromMachine({}));
    expect(err).toBeInstanceOf(MissingParameterError);
    expect(err.issues.map((i) => i.field).sort()).toEqual(['machine', 'name', 'version']);
  });

  it('rejects unknown fields as InvalidArgument', () => {
    const err = catchError(() => parseCreateImageFromMachine({ machine, name: 'n', version: '1', extra: 1 }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain('extra');
  });

  it('applies the IMGAPI name and version rules', () => {
    expect(catchError(() => parseCreateImageFromMachine({ machine, name: 'bad*name', version: '1' }))).toBeInstanceOf(ValidationError);
    expect(catchError(() => parseCreateImageFromMachine({ machine, name: 'n', version: '1 0' }))).toBeInstanceOf(ValidationError);
    expect(catchError(() => parseCreateImageFromMachine({ machine, name: 'x'.repeat(513), version: '1' }))).toBeInstanceOf(ValidationError);
    expect(catchError(() => parseCreateImageFromMachine({ machine, name: 'n', version: 'v'.repeat(129) }))).toBeInstanceOf(ValidationError);
  });

  it('rejects a non-object body', () => {
    for (const body of [null, [], 'x', 3]) expect(catchError(() => parseCreateImageFromMachine(body))).toBeInstanceOf(ValidationError);
  });
});

describe('Triton error rendering', () => {
  it('renders a core error as {code, message} with its status', () => {
    expect(renderTritonError(new NotFoundError('image not found'), { requestId: 'r' })).toEqual({
      status: 404,
      body: { code: 'ResourceNotFound', message: 'image not found' },
    });
  });

  it('never exposes an unknown error', () => {
    const res = renderTritonError(undefined, { requestId: 'req-1' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ code: 'InternalError', message: 'internal error (request req-1)' });
  });

  it('maps every core code below 500 except the ones that are the server’s fault', () => {
    for (const [code, row] of Object.entries(TRITON_ERRORS)) {
      expect(row.status).toBeGreaterThanOrEqual(400);
      if (!['NotAvailable', 'ServiceUnavailable'].includes(code)) expect(row.status).toBeLessThan(500);
    }
  });
});
