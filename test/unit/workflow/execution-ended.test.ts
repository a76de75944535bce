/** How an ended execution is described on the image and job, and which DynamoDB errors MarkFailed retries. */
import { failureOf } from '../../../lambdas/workflow/execution-ended';
import { classifyDynamoError, isTransientDynamoError } from '../../../lambdas/workflow/dynamo-errors';
import { TransientStorageError } from '../../../lambdas/workflow/errors';
import { exportOf } from '../../../lambdas/workflow/copy';

describe('failureOf', () => {
  it('names a timed-out execution Timeout', () => {
    expect(failureOf({ status: 'TIMED_OUT', error: 'States.Timeout' })).toMatchObject({ code: 'Timeout' });
  });

  it('names a stopped execution Aborted, unless whoever stopped it gave an error', () => {
    expect(failureOf({ status: 'ABORTED' })).toEqual({ code: 'Aborted', message: 'the build was stopped before it finished' });
    expect(failureOf({ status: 'ABORTED', error: 'Cancelled', cause: 'the job was cancelled' })).toEqual({
      code: 'Cancelled',
      message: 'the job was cancelled',
    });
  });

  it("takes a failed execution's error and the message out of Lambda's error document", () => {
    expect(failureOf({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'too big' })).toEqual({
      code: 'States.DataLimitExceeded',
      message: 'too big',
    });
    const cause = JSON.stringify({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 30.00 seconds' });
    expect(failureOf({ status: 'FAILED', error: 'Sandbox.Timedout', cause })).toEqual({
      code: 'Sandbox.Timedout',
      message: 'Task timed out after 30.00 seconds',
    });
  });
});

describe('DynamoDB errors in the workflow', () => {
  const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });

  it.each([
    named('ProvisionedThroughputExceededException'),
    named('ThrottlingException'),
    named('InternalServerError'),
    named('Anything', { $metadata: { httpStatusCode: 503 } }),
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  ])('treats %s as transient: TransientStorageError, which the state machine retries', (err) => {
    expect(isTransientDynamoError(err)).toBe(true);
    expect(classifyDynamoError(err, 'marking failed')).toBeInstanceOf(TransientStorageError);
  });

  it('passes a failed condition and other client errors through unchanged', () => {
    for (const err of [
      named('ConditionalCheckFailedException', { $metadata: { httpStatusCode: 400 } }),
      named('ValidationException'),
      new Error('plain'),
    ]) {
      expect(isTransientDynamoError(err)).toBe(false);
      expect(classifyDynamoError(err, 'x')).toBe(err);
    }
  });
});

describe('exportOf (an export run by the build workflow, lambdas/workflow/copy.ts)', () => {
  const file = { key: 'images/i/file', size: 1, sha1: 'a', sha256: 'b', compression: 'none', format: 'raw' };

  it('recognises an export by copy.kind and its destination, so the execution-status rule fails the job only', () => {
    const input = { jobId: 'j', owner: 'o', copy: { kind: 'export', sourceImageId: 'i', file, toKey: 'user-buckets/o/b/k' } };
    expect(exportOf(JSON.stringify(input))).toEqual(input);
  });

  it('is not fooled by builds, clones or anything else', () => {
    const clone = { jobId: 'j', owner: 'o', imageId: 'c', copy: { kind: 'clone', sourceImageId: 'i', file } };
    const build = { jobId: 'j', imageId: 'i', owner: 'o', source: {}, target: {} };
    for (const input of [JSON.stringify(clone), JSON.stringify(build), '{"copy":{"kind":"export"}}', 'not json', null, undefined]) {
      expect(exportOf(input)).toBeUndefined();
    }
  });
});
