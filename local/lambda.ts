/**
 * The local Lambda runtime: how the local stack invokes a handler in-process with Lambda's limits.
 *
 * - The invocation is cut at the function's timeout (from the synthesized template, times the local
 *   stack's time scale) and fails as Lambda reports it: errorType `Sandbox.Timedout`, errorMessage
 *   `RequestId: <id> Error: Task timed out after <n> seconds`. Module loading (Lambda's init phase) is
 *   not counted, as on Lambda.
 * - A response whose JSON is larger than 6 MB (6,291,556 bytes) fails with errorType
 *   `Function.ResponseSizeTooLarge`, as Lambda's synchronous Invoke does.
 * - A thrown error becomes Lambda's error document `{errorType, errorMessage, trace}`.
 * - The result goes through JSON, as it does between Lambda and its caller.
 * - `context.getRemainingTimeInMillis()` counts down to the deadline.
 *
 * One difference remains, by necessity: Lambda freezes and then resets the sandbox of a timed-out
 * invocation, while here the handler is a promise in this process that nothing can kill. It keeps
 * running after its deadline; its late result or error is discarded (never returned, never logged as
 * unhandled), but any write it makes after the deadline still happens. Tests must not rely on a
 * timed-out handler having stopped.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { AnyHandler } from './handlers';

/** Lambda's limits for synchronous invocations. */
export const LAMBDA_LIMITS = {
  /** Invoke's response payload limit (6 MB as Lambda counts it). */
  maxResponseBytes: 6_291_556,
} as const;

export interface LocalFunction {
  /** The function's name (its logical id in the template, or the route's operation). */
  name: string;
  /** The configured timeout, already scaled by the local stack's time scale. */
  timeoutMs: number;
  memoryMb: number;
  /** Loads (requires) the handler module; not counted against the timeout. */
  load: () => AnyHandler;
}

/** An invocation that failed as Lambda reports it (`X-Amz-Function-Error: Unhandled` + the error document). */
export class LambdaFunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: string[] = [],
  ) {
    super(errorMessage);
    this.name = errorType;
  }

  /** Lambda's error document, the JSON string Step Functions puts in a task error's Cause. */
  get document(): string {
    return JSON.stringify({ errorType: this.errorType, errorMessage: this.errorMessage, trace: this.trace });
  }
}

export interface InvokeOptions {
  requestId?: string;
}

function lambdaContext(fn: LocalFunction, requestId: string, deadline: number): Context {
  return {
    awsRequestId: requestId,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.name}`,
    memoryLimitInMB: String(fn.memoryMb),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** Invokes `fn` with `event` as Lambda would; resolves to the JSON round-tripped result or rejects with a LambdaFunctionError. */
export async function invokeLocal(fn: LocalFunction, event: unknown, options: InvokeOptions = {}): Promise<unknown> {
  const requestId = options.requestId ?? randomUUID();
  const handler = fn.load();
  const deadline = Date.now() + fn.timeoutMs;
  const call = (async () => handler(JSON.parse(JSON.stringify(event ?? null)), lambdaContext(fn, requestId, deadline)))();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new LambdaFunctionError('Sandbox.Timedout', `RequestId: ${requestId} Error: Task timed out after ${seconds(fn.timeoutMs)} seconds`));
    }, fn.timeoutMs);
  });
  // Past the deadline the handler's outcome is discarded: never an unhandled rejection.
  call.catch(() => undefined);
  let result: unknown;
  try {
    result = await Promise.race([call, timedOut]);
  } catch (err) {
    if (err instanceof LambdaFunctionError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new LambdaFunctionError(e.name || 'Error', e.message, e.stack ? e.stack.split('\n') : []);
  } finally {
    clearTimeout(timer);
  }
  const text = result === undefined ? 'null' : JSON.stringify(result);
  if (Buffer.byteLength(text) > LAMBDA_LIMITS.maxResponseBytes) {
    throw new LambdaFunctionError(
      'Function.ResponseSizeTooLarge',
      `Response payload size exceeded maximum allowed payload size (${LAMBDA_LIMITS.maxResponseBytes} bytes).`,
    );
  }
  return JSON.parse(text);
}

/** A limit in ms scaled by the local stack's time scale (at least 1 ms). */
export function scaleMs(ms: number, timeScale: number): number {
  return Math.max(1, Math.round(ms * timeScale));
}
