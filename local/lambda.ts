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
 *
 * Invocations run concurrently in this one process, as on Lambda's multi-concurrency runtime
 * (Lambda Managed Instances): each runs inside the runtime's InvokeStore (@aws/lambda-invoke-store)
 * with its request id, and AWS_LAMBDA_MAX_CONCURRENCY is set as that runtime sets it (`invokeStore`),
 * so Powertools keeps each invocation's log keys and Lambda context apart. What a handler writes to
 * stdout/stderr is what Lambda sends to CloudWatch Logs: it goes to this process's output, and to
 * every `captureLambdaLogs` listener, line by line, labelled with the function and request id.
 */
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { AsyncLocalStorage } from 'node:async_hooks';
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

/** One line a handler wrote, as CloudWatch Logs would receive it. */
export interface LambdaLogLine {
  functionName: string;
  requestId: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

interface LogListener {
  onLine(line: LambdaLogLine): void;
  /** Whether the lines still reach this process's output (default true). */
  passThrough: boolean;
}

const invocation = new AsyncLocalStorage<{ functionName: string; requestId: string }>();
const listeners = new Set<LogListener>();
let streamsPatched = false;

function patchStream(name: 'stdout' | 'stderr'): void {
  const stream = process[name];
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const current = listeners.size > 0 ? invocation.getStore() : undefined;
    if (!current) return write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      for (const l of listeners) l.onLine({ ...current, stream: name, text: line });
    }
    if ([...listeners].some((l) => !l.passThrough)) {
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

/**
 * Receives every line the handlers write while invoked here (stdout and stderr, whatever writes
 * it: Powertools, console, a dependency). Returns the function that stops the capture.
 */
export function captureLambdaLogs(onLine: (line: LambdaLogLine) => void, opts: { passThrough?: boolean } = {}): () => void {
  if (!streamsPatched) {
    patchStream('stdout');
    patchStream('stderr');
    streamsPatched = true;
  }
  const listener: LogListener = { onLine, passThrough: opts.passThrough ?? true };
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The runtime's InvokeStore, as the multi-concurrency runtime provides it: one AsyncLocalStorage
 * context per invocation, published at `globalThis.awslambda.InvokeStore`, and the variable that
 * runtime sets (Powertools reads both to scope its state per invocation). Set here, not in the
 * handler environment: the variable must never be set in a process that has no store.
 */
class LocalInvokeStore extends InvokeStoreBase {
  private readonly als = new AsyncLocalStorage<Record<string | symbol, unknown>>();
  getContext() {
    return this.als.getStore();
  }
  hasContext() {
    return this.als.getStore() !== undefined;
  }
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.als.getStore()?.[key] as T | undefined;
  }
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const store = this.als.getStore();
    if (!store) throw new Error('No context available');
    store[key] = value;
  }
  run<T>(context: Record<string | symbol, unknown>, fn: () => T): T {
    return this.als.run(context, fn);
  }
}

export function invokeStore(): InvokeStoreBase {
  const g = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
  g.awslambda ??= {};
  // The SDK's recursion-detection middleware makes a single-invocation store when it finds none
  // (it runs before any invocation here, in fixtures and admin commands): the runtime's comes first.
  if (!(g.awslambda.InvokeStore instanceof LocalInvokeStore)) g.awslambda.InvokeStore = new LocalInvokeStore();
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  return g.awslambda.InvokeStore;
}

/** Invokes `fn` with `event` as Lambda would; resolves to the JSON round-tripped result or rejects with a LambdaFunctionError. */
export async function invokeLocal(fn: LocalFunction, event: unknown, options: InvokeOptions = {}): Promise<unknown> {
  const requestId = options.requestId ?? randomUUID();
  const handler = fn.load();
  const deadline = Date.now() + fn.timeoutMs;
  const store = invokeStore();
  const input = JSON.parse(JSON.stringify(event ?? null));
  const call = invocation.run({ functionName: fn.name, requestId }, () =>
    store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, async () =>
      handler(input, lambdaContext(fn, requestId, deadline)),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new LambdaFunctionError('Sandbox.Timedout', `RequestId: ${requestId} Error: Task timed out after ${seconds(fn.timeoutMs)} seconds`),
      );
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
