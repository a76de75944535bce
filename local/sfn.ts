/**
 * Local Step Functions endpoint: speaks the AWS JSON 1.0 protocol of the SFN API
 * (`X-Amz-Target: AWSStepFunctions.<Op>`), so `@aws-sdk/client-sfn` works unchanged with `endpoint`
 * pointing here, and runs executions with aws-local-stepfunctions, Task states mapped to local handlers.
 *
 * Operations: StartExecution, DescribeExecution, StopExecution, ListExecutions, DescribeStateMachine,
 * ListStateMachines. Execution records live in memory.
 *
 * Task handlers, keyed by Task state name (also inside Map/Parallel):
 * - Resource = a Lambda ARN (CDK LambdaInvoke with `payloadResponseOnly: true`): the handler gets the
 *   state input (after InputPath/Parameters) and its return value is the task result.
 * - Resource = `arn:aws:states:::lambda:invoke`: the handler gets `Parameters.Payload` and the result is
 *   wrapped as Lambda's invoke response `{ExecutedVersion, Payload, StatusCode}`.
 * - Results and inputs go through JSON, as with Lambda.
 * - A thrown error becomes a Lambda-style task error: the ASL error name is the thrown `Error.name`
 *   (so `Retry`/`Catch` `ErrorEquals: ["TransientStorageError"]` match) and the Cause is the JSON string
 *   Lambda produces, `{"errorType": name, "errorMessage": message, "trace": [...]}`.
 *   (aws-local-stepfunctions by itself puts the bare `error.message` in Cause.)
 * - A Task state with no handler fails with `States.TaskFailed` (the engine would otherwise try real AWS).
 * - The context object has `$$.State` {Name, EnteredTime, RetryCount} as on AWS (local/sfn-state-context.ts).
 * - Handlers also get a second argument `{executionArn, stateName, signal, lambda}`; `signal` aborts on
 *   StopExecution or close(), `lambda` is the invocation's Lambda context. As on AWS, stopping an execution doesn't stop a task already running.
 *
 * AWS's limits, every time limit multiplied by `timeScale` (default 1):
 * - A handler runs as its Lambda function would (local/lambda.ts): cut at the function's timeout
 *   (`taskFunctions`, per Task state; 900 s, Lambda's maximum, when not given), the task failing
 *   with `Sandbox.Timedout`; a result over 6 MB fails it with `Function.ResponseSizeTooLarge`.
 * - A Task's `TimeoutSeconds` fails it with `States.Timeout`; without one a Task has no state timeout
 *   (AWS's default is 99999999 s, not the ASL spec's 60 s that the engine would apply).
 * - The definition's `TimeoutSeconds` ends the execution TIMED_OUT (`States.Timeout`).
 * - A state input or task result larger than 256 KB (262,144 bytes of JSON) fails the execution
 *   with `States.DataLimitExceeded`, a terminal error no Retry or Catch handles (so, as on AWS, the
 *   workflow's own Catch path does not run; the status event below is what cleans up after it).
 * - StartExecution refuses an input over 256 KB (`InvalidExecutionInput`).
 * Timers are ours, not the engine's: Task and execution timeouts are removed from the definition the
 * engine runs, so fractional scaled values work and nothing overflows Node's 24.8-day timer limit.
 *
 * Every status change (RUNNING at start, then SUCCEEDED, FAILED, TIMED_OUT or ABORTED) is passed to
 * `onStatusChange` as the EventBridge event Step Functions emits ("Step Functions Execution Status
 * Change", source `aws.states`), which the local stack routes to the template's rules (local/events.ts).
 */
import './polyfills';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { listenOnLoopback } from './listen';
import type { Context } from 'aws-lambda';
import { invokeLocal, LambdaFunctionError, scaleMs } from './lambda';
import { installStateContext } from './sfn-state-context';

// `$$.State` (Name, EnteredTime, RetryCount), which the engine's context object lacks (local/sfn-state-context.ts).
installStateContext();

/** Step Functions' payload limit for an execution input, a state's input or output, a task result. */
export const MAX_STATE_PAYLOAD_BYTES = 262_144;
/** Lambda's maximum timeout, for Task handlers whose function timeout was not given. */
const MAX_FUNCTION_TIMEOUT_MS = 900_000;
/** What the engine is given instead of a Task's TimeoutSeconds (our own timer enforces the real one). */
const ENGINE_NO_TIMEOUT_SECONDS = 2_000_000;

type RunResult = ReturnType<StateMachine['run']>;
/** An event of aws-local-stepfunctions' execution log (ExecutionStarted, StateEntered, StateRetried, …). */
export type ExecutionEvent = RunResult['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface TaskContext {
  executionArn: string;
  stateName: string;
  /** Aborted when the execution is stopped or the endpoint closes. */
  signal: AbortSignal;
  /** The Lambda context of this invocation (local/lambda.ts): `getRemainingTimeInMillis()` counts down to the function's timeout. */
  lambda: Context;
}

// biome-ignore lint/suspicious/noExplicitAny: a task's input and output are the state machine's JSON, shaped by each task.
export type LocalTaskHandler = (input: any, context: TaskContext) => Promise<any>;

export interface LocalStateMachine {
  arn: string;
  name: string;
  /** Plain ASL JSON (JSONPath). */
  definition: object;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalSfnOptions {
  /** 0 or undefined = an ephemeral port. */
  port?: number;
  stateMachines: LocalStateMachine[];
  /** Keyed by Task state name. */
  taskHandlers: Record<string, LocalTaskHandler>;
  /** Retry wait in ms per state name (one number for all retriers, or one per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Wait state duration in ms per state name. */
  waitTimeOverrides?: Record<string, number>;
  /** The function behind each Task state, by state name: its name, timeout in ms (before scaling) and memory. */
  taskFunctions?: Record<string, { name: string; timeoutMs: number; memoryMb: number }>;
  /** Multiplies every time limit: function timeouts, Task and execution TimeoutSeconds. @default 1 */
  timeScale?: number;
  /** Called with the EventBridge event of every execution status change; must not throw (errors are ignored). */
  onStatusChange?: (event: ExecutionStatusChangeEvent) => void;
  /** aws-local-stepfunctions' definition checks; default `{checkArn: false, checkPaths: true}`. */
  validationOptions?: { noValidate?: boolean; checkArn?: boolean; checkPaths?: boolean };
  /** Called for every engine event of every execution, and must not throw (errors are ignored). */
  onExecutionEvent?: (executionArn: string, event: ExecutionEvent) => void;
}

/** The EventBridge event Step Functions sends on an execution's status change. */
export interface ExecutionStatusChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: ExecutionStatus;
    /** Epoch milliseconds. */
    startDate: number;
    stopDate: number | null;
    input: string;
    inputDetails: { included: boolean };
    output: string | null;
    outputDetails: { included: boolean } | null;
    error: string | null;
    cause: string | null;
  };
}

export interface LocalSfn {
  endpoint: string;
  close(): Promise<void>;
  /** Resolves when no execution is running and no task handler is still in flight. */
  waitForIdle(): Promise<void>;
  /** Whether no execution is running and no task handler is in flight, now. */
  isIdle(): boolean;
}

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  abortEngine: () => void;
  controller: AbortController;
  /** The execution's TimeoutSeconds timer. */
  timer?: NodeJS.Timeout;
}

interface MachineEntry {
  arn: string;
  name: string;
  definition: Record<string, unknown>;
  engine: StateMachine;
  /** The definition as given (what DescribeStateMachine answers); `definition` is the engine's copy. */
  original: object;
  /** Task state name → Resource. */
  tasks: Map<string, string>;
  /** Task state name → its TimeoutSeconds in ms (unscaled), for Tasks that have one. */
  taskTimeoutsMs: Map<string, number>;
  /** The definition's TimeoutSeconds in ms (unscaled). */
  executionTimeoutMs?: number;
  createdAt: Date;
}

class SfnError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

const LAMBDA_INVOKE = /^arn:aws[\w-]*:states:::lambda:invoke$/;
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

/**
 * Copies the definition for the engine, collecting Task resources and taking the timeouts out (our
 * timers enforce them, scaled): Tasks get a timeout the engine never reaches instead of its 60 s default.
 */
function prepareDefinition(definition: object): Pick<MachineEntry, 'definition' | 'tasks' | 'taskTimeoutsMs' | 'executionTimeoutMs'> {
  const copy = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
  const tasks = new Map<string, string>();
  const taskTimeoutsMs = new Map<string, number>();
  const executionTimeoutMs = typeof copy.TimeoutSeconds === 'number' ? copy.TimeoutSeconds * 1000 : undefined;
  delete copy.TimeoutSeconds;
  const walk = (machine: unknown) => {
    const states = (machine as { States?: Record<string, Json> } | undefined)?.States;
    if (!states) return;
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        tasks.set(name, String(state.Resource));
        if (typeof state.TimeoutSeconds === 'number') taskTimeoutsMs.set(name, state.TimeoutSeconds * 1000);
        if (state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = ENGINE_NO_TIMEOUT_SECONDS;
      } else if (state.Type === 'Parallel') {
        for (const branch of (state.Branches as unknown[]) ?? []) walk(branch);
      } else if (state.Type === 'Map') {
        walk(state.ItemProcessor ?? state.Iterator);
      }
    }
  };
  walk(copy);
  return { definition: copy, tasks, taskTimeoutsMs, executionTimeoutMs };
}

/** A named error as the engine matches it against Retry/Catch (`name`) with its Cause (`message`). */
function statesError(name: string, cause: string): Error {
  const err = new Error(cause);
  err.name = name;
  return err;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value ?? null));

function toJsonValue(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** What Lambda does with an error thrown by a Node.js handler, as Step Functions sees it. */
function lambdaTaskError(err: LambdaFunctionError): Error {
  return statesError(err.errorType, err.document);
}

function epochSeconds(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime() / 1000;
}

export async function startLocalSfn(options: LocalSfnOptions): Promise<LocalSfn> {
  const timeScale = options.timeScale ?? 1;
  const machines = new Map<string, MachineEntry>();
  for (const sm of options.stateMachines) {
    const prepared = prepareDefinition(sm.definition);
    const engine = new StateMachine(prepared.definition as unknown as ConstructorParameters<typeof StateMachine>[0], {
      validationOptions: { checkArn: false, checkPaths: true, ...options.validationOptions },
    });
    machines.set(sm.arn, { arn: sm.arn, name: sm.name, ...prepared, original: sm.definition, engine, createdAt: new Date() });
  }

  const executions = new Map<string, ExecutionRecord>();
  const running = new Set<Promise<void>>();
  const tasksInFlight = new Set<Promise<unknown>>();

  function notifyEvent(executionArn: string, event: ExecutionEvent): void {
    try {
      options.onExecutionEvent?.(executionArn, event);
    } catch {
      // a listener's failure must not affect the execution
    }
  }

  function emitStatusChange(record: ExecutionRecord): void {
    if (!options.onStatusChange) return;
    const [, , , region, account] = record.stateMachineArn.split(':');
    const event: ExecutionStatusChangeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: account ?? '000000000000',
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: region ?? 'us-east-1',
      resources: [record.executionArn],
      detail: {
        executionArn: record.executionArn,
        stateMachineArn: record.stateMachineArn,
        name: record.name,
        status: record.status,
        startDate: record.startDate.getTime(),
        stopDate: record.stopDate?.getTime() ?? null,
        input: record.input,
        inputDetails: { included: true },
        output: record.output ?? null,
        outputDetails: record.output === undefined ? null : { included: true },
        error: record.error ?? null,
        cause: record.cause ?? null,
      },
    };
    try {
      options.onStatusChange(event);
    } catch {
      // a listener's failure must not affect the execution
    }
  }

  /** Ends the execution at once, whatever Retry/Catch say (terminal errors, timeouts). */
  function endNow(record: ExecutionRecord, status: 'FAILED' | 'TIMED_OUT', error: string, cause: string): void {
    finish(record, status, { error, cause });
    record.abortEngine();
    record.controller.abort(new Error(`Execution ${status}`));
  }

  /** States.DataLimitExceeded: terminal, as on AWS (States.ALL does not catch it). */
  function checkPayload(record: ExecutionRecord, stateName: string, what: 'input' | 'output', value: unknown): void {
    const bytes = jsonBytes(value);
    if (bytes <= MAX_STATE_PAYLOAD_BYTES) return;
    const cause = `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`;
    const detail =
      what === 'input' ? `The input of state '${stateName}' (${bytes} bytes) exceeds the maximum number of bytes service limit.` : cause;
    endNow(record, 'FAILED', 'States.DataLimitExceeded', detail);
    throw statesError('States.DataLimitExceeded', detail);
  }

  function buildHandlers(machine: MachineEntry, record: ExecutionRecord) {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, resource] of machine.tasks) {
      const handler = options.taskHandlers[stateName];
      const invokeIntegration = LAMBDA_INVOKE.test(resource);
      const taskFunction = options.taskFunctions?.[stateName];
      const functionTimeoutMs = scaleMs(taskFunction?.timeoutMs ?? MAX_FUNCTION_TIMEOUT_MS, timeScale);
      const stateTimeout = machine.taskTimeoutsMs.get(stateName);
      const stateTimeoutMs = stateTimeout === undefined ? undefined : scaleMs(stateTimeout, timeScale);
      handlers[stateName] = async (input: unknown) => {
        if (!handler) {
          const err = new Error(`No local handler for Task state "${stateName}" (resource ${resource})`);
          err.name = 'States.TaskFailed';
          throw err;
        }
        if (record.controller.signal.aborted) {
          // the engine may still retry a task after an abort; don't call the handler again
          const err = new Error('Execution was stopped');
          err.name = 'States.Aborted';
          throw err;
        }
        checkPayload(record, stateName, 'input', input);
        const payload = toJsonValue(invokeIntegration ? (input as Json | null)?.Payload : input);
        let settle!: () => void;
        const inFlight = new Promise<void>((resolve) => (settle = resolve));
        tasksInFlight.add(inFlight);
        const call = invokeLocal(
          {
            name: taskFunction?.name ?? stateName,
            timeoutMs: functionTimeoutMs,
            memoryMb: taskFunction?.memoryMb ?? 128,
            load: () => async (event: unknown, lambda: Context) => {
              try {
                return await handler(event, { executionArn: record.executionArn, stateName, signal: record.controller.signal, lambda });
              } finally {
                // the handler itself, even past its deadline, is what waitForIdle waits for
                tasksInFlight.delete(inFlight);
                settle();
              }
            },
          },
          payload,
          { requestId: record.executionArn },
        );
        let stateTimer: NodeJS.Timeout | undefined;
        const stateTimedOut = new Promise<never>((_, reject) => {
          if (stateTimeoutMs !== undefined)
            stateTimer = setTimeout(
              () => reject(statesError('States.Timeout', `Task '${stateName}' timed out (TimeoutSeconds).`)),
              stateTimeoutMs,
            );
        });
        call.catch(() => undefined);
        let result: unknown;
        try {
          result = await Promise.race([call, stateTimedOut]);
        } catch (err) {
          if (err instanceof LambdaFunctionError) throw lambdaTaskError(err);
          throw err;
        } finally {
          clearTimeout(stateTimer);
        }
        checkPayload(record, stateName, 'output', result);
        return invokeIntegration ? { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 } : result;
      };
    }
    return handlers;
  }

  function finish(record: ExecutionRecord, status: ExecutionStatus, fields: Partial<ExecutionRecord>): void {
    if (record.status !== 'RUNNING') return; // e.g. already ABORTED by StopExecution
    Object.assign(record, fields, { status, stopDate: new Date() });
    clearTimeout(record.timer);
    emitStatusChange(record);
  }

  function startExecution(body: Json): Json {
    const stateMachineArn = String(body.stateMachineArn ?? '');
    const machine = machines.get(stateMachineArn);
    if (!machine) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const name = body.name === undefined ? randomUUID() : String(body.name);
    if (!NAME.test(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
    const input = body.input === undefined ? '{}' : String(body.input);
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new SfnError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${input}'`);
    }
    if (Buffer.byteLength(input) > MAX_STATE_PAYLOAD_BYTES) {
      throw new SfnError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: the input exceeds ${MAX_STATE_PAYLOAD_BYTES} bytes`,
      );
    }
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = executions.get(executionArn);
    if (existing) {
      // AWS (Standard): same name and input as an execution still running → the same execution.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      startDate: new Date(),
      input,
      abortEngine: () => undefined,
      controller: new AbortController(),
    };
    executions.set(executionArn, record);

    const run = machine.engine.run(parsedInput as Parameters<StateMachine['run']>[0], {
      overrides: {
        taskResourceLocalHandlers: buildHandlers(machine, record) as never,
        retryIntervalOverrides: options.retryIntervalOverrides,
        waitTimeOverrides: options.waitTimeOverrides,
      },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: 'arn:aws:iam::000000000000:role/local-sfn' },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    record.abortEngine = run.abort;
    emitStatusChange(record);
    if (machine.executionTimeoutMs !== undefined) {
      record.timer = setTimeout(
        () => endNow(record, 'TIMED_OUT', 'States.Timeout', 'The execution timed out (TimeoutSeconds).'),
        scaleMs(machine.executionTimeoutMs, timeScale),
      );
    }

    void (async () => {
      try {
        for await (const event of run.eventLogs) {
          notifyEvent(executionArn, event);
          // Every state's output (a Task's result merged through ResultPath included); a Task's result
          // alone, and the next Task's input, are also checked before they reach the engine or a handler.
          if (event.type === 'StateExited' && record.status === 'RUNNING') {
            const state = (event as { state?: { name: string; output?: unknown } }).state;
            if (state) checkPayload(record, state.name, 'output', state.output);
          }
        }
      } catch {
        // the event log can't affect the execution (beyond the data limit, already applied)
      }
    })();

    const settled: Promise<void> = run.result
      .then(
        (output) => finish(record, 'SUCCEEDED', { output: JSON.stringify(output ?? null) }),
        (err: unknown) => {
          if (err instanceof ExecutionAbortedError) {
            finish(record, 'ABORTED', {});
          } else if (err instanceof ExecutionTimeoutError) {
            finish(record, 'TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds).' });
          } else if (err instanceof ExecutionError && err.cause instanceof Error) {
            finish(record, 'FAILED', { error: err.cause.name, cause: err.cause.message });
          } else {
            finish(record, 'FAILED', { error: 'States.Runtime', cause: err instanceof Error ? err.message : String(err) });
          }
        },
      )
      .catch(() => undefined)
      .finally(() => running.delete(settled));
    running.add(settled);
    return { executionArn, startDate: epochSeconds(record.startDate) };
  }

  function getExecution(body: Json): ExecutionRecord {
    const executionArn = String(body.executionArn ?? '');
    const record = executions.get(executionArn);
    if (!record) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  function describeExecution(body: Json): Json {
    const r = getExecution(body);
    return {
      executionArn: r.executionArn,
      stateMachineArn: r.stateMachineArn,
      name: r.name,
      status: r.status,
      startDate: epochSeconds(r.startDate),
      stopDate: epochSeconds(r.stopDate),
      input: r.input,
      inputDetails: { included: true },
      output: r.output,
      outputDetails: r.output === undefined ? undefined : { included: true },
      error: r.error,
      cause: r.cause,
    };
  }

  function stopExecution(body: Json): Json {
    const r = getExecution(body);
    if (r.status === 'RUNNING') {
      finish(r, 'ABORTED', {
        ...(body.error !== undefined && { error: String(body.error) }),
        ...(body.cause !== undefined && { cause: String(body.cause) }),
      });
      r.abortEngine();
      r.controller.abort(new Error('Execution stopped'));
    }
    return { stopDate: epochSeconds(r.stopDate) };
  }

  function listExecutions(body: Json): Json {
    const stateMachineArn = String(body.stateMachineArn ?? '');
    if (!machines.has(stateMachineArn))
      throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const status = body.statusFilter as string | undefined;
    const all = [...executions.values()].filter((r) => r.stateMachineArn === stateMachineArn && (!status || r.status === status)).reverse(); // newest first, as AWS lists them
    const start = body.nextToken ? Number(body.nextToken) : 0;
    if (!Number.isInteger(start) || start < 0) throw new SfnError('InvalidToken', 'Invalid nextToken');
    const max = Number(body.maxResults) > 0 ? Math.min(Number(body.maxResults), 1000) : 100;
    const page = all.slice(start, start + max);
    return {
      executions: page.map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: epochSeconds(r.startDate),
        stopDate: epochSeconds(r.stopDate),
      })),
      nextToken: start + max < all.length ? String(start + max) : undefined,
    };
  }

  function describeStateMachine(body: Json): Json {
    const m = machines.get(String(body.stateMachineArn ?? ''));
    if (!m) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(body.stateMachineArn)}'`);
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: JSON.stringify(m.original),
      roleArn: 'arn:aws:iam::000000000000:role/local-sfn',
      type: 'STANDARD',
      creationDate: epochSeconds(m.createdAt),
    };
  }

  function listStateMachines(): Json {
    return {
      stateMachines: [...machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: epochSeconds(m.createdAt),
      })),
    };
  }

  const operations: Record<string, (body: Json) => Json> = {
    StartExecution: startExecution,
    DescribeExecution: describeExecution,
    StopExecution: stopExecution,
    ListExecutions: listExecutions,
    DescribeStateMachine: describeStateMachine,
    ListStateMachines: listStateMachines,
  };

  function send(res: ServerResponse, status: number, payload: unknown): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const [service, op] = target.split('.');
      const operation = service === 'AWSStepFunctions' ? operations[op ?? ''] : undefined;
      if (req.method !== 'POST' || !operation) throw new SfnError('UnknownOperationException', `Unknown operation: '${target}'`);
      let body: Json;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text ? (JSON.parse(text) as Json) : {};
      } catch {
        throw new SfnError('SerializationException', 'Request body is not valid JSON');
      }
      send(res, 200, operation(body));
    } catch (err) {
      if (err instanceof SfnError) send(res, 400, { __type: err.code, message: err.message });
      else send(res, 500, { __type: 'InternalServerError', message: err instanceof Error ? err.message : String(err) });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { __type: 'InternalServerError', message: 'request failed' });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);

  async function waitForIdle(): Promise<void> {
    while (running.size > 0 || tasksInFlight.size > 0) {
      await Promise.allSettled([...running, ...tasksInFlight]);
    }
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    waitForIdle,
    isIdle: () => running.size === 0 && tasksInFlight.size === 0,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
        server.closeIdleConnections();
        for (const r of executions.values()) {
          if (r.status === 'RUNNING')
            stopExecution({ executionArn: r.executionArn, error: 'States.Aborted', cause: 'Local endpoint closed' });
        }
        await closed;
      })();
      return closing;
    },
  };
}
