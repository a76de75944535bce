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
 * - Handlers also get a second argument `{executionArn, stateName, signal}`; `signal` aborts on
 *   StopExecution or close(). As on AWS, stopping an execution doesn't stop a task already running.
 * - Task states without TimeoutSeconds get `defaultTaskTimeoutSeconds` (900, Lambda's maximum), since the
 *   engine's default is the ASL spec's 60 s.
 */
import './polyfills';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { listenOnLoopback } from './listen';

type RunResult = ReturnType<StateMachine['run']>;
/** An event of aws-local-stepfunctions' execution log (ExecutionStarted, StateEntered, StateRetried, …). */
export type ExecutionEvent = RunResult['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface TaskContext {
  executionArn: string;
  stateName: string;
  /** Aborted when the execution is stopped or the endpoint closes. */
  signal: AbortSignal;
}

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
  /** TimeoutSeconds given to Task states that have none (default 900). */
  defaultTaskTimeoutSeconds?: number;
  /** aws-local-stepfunctions' definition checks; default `{checkArn: false, checkPaths: true}`. */
  validationOptions?: { noValidate?: boolean; checkArn?: boolean; checkPaths?: boolean };
  /** Called for every engine event of every execution, and must not throw (errors are ignored). */
  onExecutionEvent?: (executionArn: string, event: ExecutionEvent) => void;
}

export interface LocalSfn {
  endpoint: string;
  close(): Promise<void>;
  /** Resolves when no execution is running and no task handler is still in flight. */
  waitForIdle(): Promise<void>;
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
}

interface MachineEntry {
  arn: string;
  name: string;
  definition: Record<string, unknown>;
  engine: StateMachine;
  /** Task state name → Resource. */
  tasks: Map<string, string>;
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
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

/** Copies the definition, collecting Task resources and giving Task states a timeout when they have none. */
function prepareDefinition(definition: object, taskTimeout: number): { definition: Record<string, unknown>; tasks: Map<string, string> } {
  const copy = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
  const tasks = new Map<string, string>();
  const walk = (machine: unknown) => {
    const states = (machine as { States?: Record<string, Json> } | undefined)?.States;
    if (!states) return;
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        tasks.set(name, String(state.Resource));
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = taskTimeout;
      } else if (state.Type === 'Parallel') {
        for (const branch of (state.Branches as unknown[]) ?? []) walk(branch);
      } else if (state.Type === 'Map') {
        walk(state.ItemProcessor ?? state.Iterator);
      }
    }
  };
  walk(copy);
  return { definition: copy, tasks };
}

function toJsonValue(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** What Lambda does with an error thrown by a Node.js handler, as Step Functions sees it. */
function lambdaTaskError(err: unknown): Error {
  const name = err instanceof Error ? err.name || 'Error' : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const trace = err instanceof Error && err.stack ? err.stack.split('\n') : [];
  const cause = JSON.stringify({ errorType: name, errorMessage: message, trace });
  const taskError = new Error(cause);
  taskError.name = name;
  return taskError;
}

function epochSeconds(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime() / 1000;
}

export async function startLocalSfn(options: LocalSfnOptions): Promise<LocalSfn> {
  const taskTimeout = options.defaultTaskTimeoutSeconds ?? 900;
  const machines = new Map<string, MachineEntry>();
  for (const sm of options.stateMachines) {
    const { definition, tasks } = prepareDefinition(sm.definition, taskTimeout);
    const engine = new StateMachine(definition as unknown as ConstructorParameters<typeof StateMachine>[0], {
      validationOptions: { checkArn: false, checkPaths: true, ...options.validationOptions },
    });
    machines.set(sm.arn, { arn: sm.arn, name: sm.name, definition, engine, tasks, createdAt: new Date() });
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

  function buildHandlers(machine: MachineEntry, record: ExecutionRecord) {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, resource] of machine.tasks) {
      const handler = options.taskHandlers[stateName];
      const invokeIntegration = LAMBDA_INVOKE.test(resource);
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
        const payload = toJsonValue(invokeIntegration ? (input as Json | null)?.Payload : input);
        const call = (async () => handler(payload, { executionArn: record.executionArn, stateName, signal: record.controller.signal }))();
        tasksInFlight.add(call);
        call.then(
          () => tasksInFlight.delete(call),
          () => tasksInFlight.delete(call),
        );
        let result: unknown;
        try {
          result = toJsonValue(await call);
        } catch (err) {
          throw lambdaTaskError(err);
        }
        return invokeIntegration ? { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 } : result;
      };
    }
    return handlers;
  }

  function finish(record: ExecutionRecord, status: ExecutionStatus, fields: Partial<ExecutionRecord>): void {
    if (record.status !== 'RUNNING') return; // e.g. already ABORTED by StopExecution
    Object.assign(record, fields, { status, stopDate: new Date() });
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
    const executionArn = stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
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

    if (options.onExecutionEvent) {
      void (async () => {
        try {
          for await (const event of run.eventLogs) notifyEvent(executionArn, event);
        } catch {
          // the event log can't affect the execution
        }
      })();
    }

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
      r.status = 'ABORTED';
      r.stopDate = new Date();
      if (body.error !== undefined) r.error = String(body.error);
      if (body.cause !== undefined) r.cause = String(body.cause);
      r.abortEngine();
      r.controller.abort(new Error('Execution stopped'));
    }
    return { stopDate: epochSeconds(r.stopDate) };
  }

  function listExecutions(body: Json): Json {
    const stateMachineArn = String(body.stateMachineArn ?? '');
    if (!machines.has(stateMachineArn)) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const status = body.statusFilter as string | undefined;
    const all = [...executions.values()]
      .filter((r) => r.stateMachineArn === stateMachineArn && (!status || r.status === status))
      .reverse(); // newest first, as AWS lists them
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
      definition: JSON.stringify(m.definition),
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
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
        server.closeIdleConnections();
        for (const r of executions.values()) {
          if (r.status === 'RUNNING') stopExecution({ executionArn: r.executionArn, error: 'States.Aborted', cause: 'Local endpoint closed' });
        }
        await closed;
      })();
      return closing;
    },
  };
}
