/** The local Lambda runtime: timeouts, the response size limit, error documents, the context. */
import { invokeLocal, LAMBDA_LIMITS, LambdaFunctionError, scaleMs, type LocalFunction } from '../../../local/lambda';
import type { AnyHandler } from '../../../local/handlers';

const fnOf = (handler: AnyHandler, timeoutMs = 200): LocalFunction => ({ name: 'Fn', timeoutMs, memoryMb: 256, load: () => handler });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('invokeLocal', () => {
  it('returns the handler result through JSON, with a context that counts down to the deadline', async () => {
    let remaining = -1;
    const result = await invokeLocal(
      fnOf(async (event, context) => {
        remaining = context.getRemainingTimeInMillis();
        return { got: event, when: new Date(0), dropped: undefined };
      }, 5_000),
      { a: 1 },
    );
    expect(result).toEqual({ got: { a: 1 }, when: '1970-01-01T00:00:00.000Z' });
    expect(remaining).toBeGreaterThan(4_000);
    expect(remaining).toBeLessThanOrEqual(5_000);
  });

  it('cuts a handler at its timeout with Sandbox.Timedout, and discards its late result', async () => {
    let finishedLate = false;
    const slow = fnOf(async () => {
      await sleep(400);
      finishedLate = true;
      return 'late';
    }, 100);
    const started = Date.now();
    const err = await invokeLocal(slow, {}, { requestId: 'req-1' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(400);
    expect(err).toBeInstanceOf(LambdaFunctionError);
    expect(err).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: req-1 Error: Task timed out after 0.10 seconds' });
    expect(JSON.parse((err as LambdaFunctionError).document)).toMatchObject({ errorType: 'Sandbox.Timedout' });
    // the handler keeps running in-process (documented), but its outcome goes nowhere
    await sleep(450);
    expect(finishedLate).toBe(true);
  });

  it('does not count loading the module against the timeout (Lambda init phase)', async () => {
    const fn: LocalFunction = {
      name: 'Init',
      timeoutMs: 100,
      memoryMb: 128,
      load: () => {
        const until = Date.now() + 150;
        while (Date.now() < until); // a slow require
        return async () => 'ok';
      },
    };
    await expect(invokeLocal(fn, {})).resolves.toBe('ok');
  });

  it('fails a response over 6 MB with Function.ResponseSizeTooLarge, and passes one just under', async () => {
    const size = (n: number) => fnOf(async () => 'x'.repeat(n - 2), 5_000); // JSON adds the two quotes
    await expect(invokeLocal(size(LAMBDA_LIMITS.maxResponseBytes), {})).resolves.toHaveLength(LAMBDA_LIMITS.maxResponseBytes - 2);
    await expect(invokeLocal(size(LAMBDA_LIMITS.maxResponseBytes + 1), {})).rejects.toMatchObject({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
  });

  it("reports a thrown error as Lambda's error document", async () => {
    class SourceGone extends Error {
      override name = 'SourceGone';
    }
    const err = (await invokeLocal(
      fnOf(async () => {
        throw new SourceGone('no disk');
      }),
      {},
    ).catch((e: unknown) => e)) as LambdaFunctionError;
    expect(err).toMatchObject({ name: 'SourceGone', errorType: 'SourceGone', errorMessage: 'no disk' });
    expect(JSON.parse(err.document)).toMatchObject({ errorType: 'SourceGone', errorMessage: 'no disk', trace: expect.any(Array) });
  });

  it('scales limits by one factor, never below 1 ms', () => {
    expect(scaleMs(30_000, 1)).toBe(30_000);
    expect(scaleMs(30_000, 0.01)).toBe(300);
    expect(scaleMs(3, 0.0001)).toBe(1);
  });
});
