import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { startLocalSfn, type ExecutionEvent, type LocalSfn, type TaskContext } from '../../../local/sfn';

const ACCOUNT = 'arn:aws:states:us-east-1:123456789012';
const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
const RETRY_ARN = `${ACCOUNT}:stateMachine:Retrying`;
const CATCH_ARN = `${ACCOUNT}:stateMachine:Catching`;
const SLOW_ARN = `${ACCOUNT}:stateMachine:Slow`;
const INVOKE_ARN = `${ACCOUNT}:stateMachine:Invoke`;
const PLAIN_ARN = `${ACCOUNT}:stateMachine:Plain`;

class TransientStorageError extends Error {
  override name = 'TransientStorageError';
}
class BadSourceError extends Error {
  override name = 'BadSourceError';
}

const retrying = {
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Task', Resource: fn('Prepare'), Next: 'Store' },
    Store: {
      Type: 'Task',
      Resource: fn('Store'),
      Retry: [{ ErrorEquals: ['TransientStorageError'], IntervalSeconds: 5, MaxAttempts: 2, BackoffRate: 2 }],
      ResultPath: '$.stored',
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

const catching = {
  StartAt: 'Build',
  States: {
    Build: {
      Type: 'Task',
      Resource: fn('Build'),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cleanup' }],
      Next: 'Built',
    },
    Built: { Type: 'Succeed' },
    Cleanup: { Type: 'Task', Resource: fn('Cleanup'), ResultPath: null, Next: 'MarkFailed' },
    MarkFailed: { Type: 'Fail', Error: 'BuildFailed', Cause: 'the build failed; partial uploads were cleaned up' },
  },
};

const slow = {
  StartAt: 'Choose',
  States: {
    Choose: { Type: 'Choice', Choices: [{ Variable: '$.mode', StringEquals: 'wait', Next: 'Pause' }], Default: 'Hang' },
    Pause: { Type: 'Wait', Seconds: 3600, Next: 'After' },
    Hang: { Type: 'Task', Resource: fn('Hang'), Next: 'After' },
    After: { Type: 'Task', Resource: fn('After'), End: true },
  },
};

const invoking = {
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn('Call'), 'Payload.$': '$' },
      ResultSelector: { 'doubled.$': '$.Payload.doubled' },
      Next: 'Unhandled',
    },
    Unhandled: { Type: 'Task', Resource: fn('Nobody'), End: true },
  },
};

const plain = {
  StartAt: 'Explode',
  States: {
    Explode: { Type: 'Task', Resource: fn('Explode'), Retry: [{ ErrorEquals: ['DiskFullError'], MaxAttempts: 1 }], End: true },
  },
};

let sfn: LocalSfn;
let client: SFNClient;
const calls: Record<string, unknown[]> = {};
const events: { arn: string; event: ExecutionEvent }[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let storeFailures = 0;
let hangSignal: AbortSignal | undefined;

function record(name: string, input: unknown) {
  calls[name] ??= [];
  calls[name].push(input);
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  sfn = await startLocalSfn({
    stateMachines: [
      { arn: RETRY_ARN, name: 'Retrying', definition: retrying },
      { arn: CATCH_ARN, name: 'Catching', definition: catching },
      { arn: SLOW_ARN, name: 'Slow', definition: slow },
      { arn: INVOKE_ARN, name: 'Invoke', definition: invoking },
      { arn: PLAIN_ARN, name: 'Plain', definition: plain },
    ],
    taskHandlers: {
      Prepare: async (input) => {
        record('Prepare', input);
        return { ...input, prepared: true };
      },
      Store: async (input) => {
        record('Store', input);
        if (storeFailures++ === 0) throw new TransientStorageError('S3 said 503');
        return { key: `images/${input.imageId}`, at: new Date(0) };
      },
      Build: async (input) => {
        record('Build', input);
        throw new BadSourceError(`disk ${input.disk} is missing`);
      },
      Cleanup: async (input) => {
        record('Cleanup', input);
        return { cleaned: true };
      },
      Hang: (input, ctx: TaskContext) => {
        record('Hang', input);
        hangSignal = ctx.signal;
        // like an SDK call cancelled through the signal: rejects once the execution is stopped
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
        );
      },
      After: async (input) => {
        record('After', input);
        return input;
      },
      Explode: async (input) => {
        record('Explode', input);
        const err = new Error(`no space left (${input.free} bytes free)`);
        err.name = 'DiskFullError';
        throw err;
      },
      Call: async (input) => {
        record('Call', input);
        return { doubled: input.n * 2 };
      },
    },
    retryIntervalOverrides: { Store: 0, Explode: [0] },
    onExecutionEvent: (arn, event) => events.push({ arn, event }),
  });
  client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await sfn?.close();
  await sfn?.waitForIdle();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function untilDone(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const out = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('local Step Functions endpoint', () => {
  it('runs Task → Task (retried once on a custom error) → Succeed', async () => {
    const input = JSON.stringify({ imageId: 'img-1' });
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: RETRY_ARN, name: 'job-1', input }));
    expect(started.executionArn).toBe(`${ACCOUNT}:execution:Retrying:job-1`);
    expect(started.startDate).toBeInstanceOf(Date);

    const done = await untilDone(started.executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.name).toBe('job-1');
    expect(done.stateMachineArn).toBe(RETRY_ARN);
    expect(done.input).toBe(input);
    expect(JSON.parse(done.output!)).toEqual({
      imageId: 'img-1',
      prepared: true,
      stored: { key: 'images/img-1', at: '1970-01-01T00:00:00.000Z' },
    });
    expect(done.startDate).toBeInstanceOf(Date);
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    expect(calls.Store).toHaveLength(2);

    const mine = events.filter((e) => e.arn === started.executionArn).map((e) => e.event);
    expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['ExecutionStarted', 'StateRetried', 'ExecutionSucceeded']));
    const failed = mine.find((e) => e.type === 'StateFailed');
    expect(failed).toMatchObject({ Error: 'TransientStorageError' });
  });

  it('Catch gives the Lambda error shape, then Cleanup → Fail', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: CATCH_ARN, input: JSON.stringify({ disk: 'd-9' }) }),
    );
    expect(executionArn).toMatch(new RegExp(`^${ACCOUNT}:execution:Catching:[0-9a-f-]{36}$`));
    const done = await untilDone(executionArn!);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('BuildFailed');
    expect(done.cause).toBe('the build failed; partial uploads were cleaned up');
    expect(done.output).toBeUndefined();

    const cleanupInput = calls.Cleanup?.at(-1) as { disk: string; error: { Error: string; Cause: string } };
    expect(cleanupInput.disk).toBe('d-9');
    expect(cleanupInput.error.Error).toBe('BadSourceError');
    const cause = JSON.parse(cleanupInput.error.Cause);
    expect(cause).toMatchObject({ errorType: 'BadSourceError', errorMessage: 'disk d-9 is missing' });
    expect(cause.trace[0]).toBe('BadSourceError: disk d-9 is missing');
  });

  it('an uncaught task error (after its retries) fails the execution with the error name and Lambda cause', async () => {
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: PLAIN_ARN, input: '{"free":0}' }));
    const done = await untilDone(executionArn!);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('DiskFullError');
    expect(JSON.parse(done.cause!)).toMatchObject({ errorType: 'DiskFullError', errorMessage: 'no space left (0 bytes free)' });
    expect(calls.Explode).toHaveLength(2); // MaxAttempts: 1 → one retry
  });

  it('wraps lambda:invoke results as {Payload}, and fails a Task without a local handler', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: INVOKE_ARN, input: JSON.stringify({ n: 21 }) }),
    );
    const done = await untilDone(executionArn!);
    expect(calls.Call?.at(-1)).toEqual({ n: 21 });
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.TaskFailed');
    expect(done.cause).toMatch(/No local handler for Task state "Unhandled"/);
    const unhandledInput = events.find(
      (e) => e.arn === executionArn && e.event.type === 'StateEntered' && e.event.state.name === 'Unhandled',
    );
    expect(unhandledInput?.event).toMatchObject({ state: { input: { doubled: 42 } } });
  });

  it('StartExecution is idempotent for the same name and input while running; otherwise ExecutionAlreadyExists', async () => {
    const input = JSON.stringify({ mode: 'wait' });
    const a = await client.send(new StartExecutionCommand({ stateMachineArn: SLOW_ARN, name: 'same', input }));
    const b = await client.send(new StartExecutionCommand({ stateMachineArn: SLOW_ARN, name: 'same', input }));
    expect(b.executionArn).toBe(a.executionArn);
    expect(b.startDate?.getTime()).toBe(a.startDate?.getTime());
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: SLOW_ARN, name: 'same', input: '{"mode":"other"}' })),
    ).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
      $metadata: { httpStatusCode: 400 },
    });

    // StopExecution of a long Wait
    const stop = await client.send(new StopExecutionCommand({ executionArn: a.executionArn, error: 'Cancelled', cause: 'user asked' }));
    expect(stop.stopDate).toBeInstanceOf(Date);
    const d = await client.send(new DescribeExecutionCommand({ executionArn: a.executionArn }));
    expect(d).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'user asked' });
    // a closed execution's name can't be reused, even with the same input (as on AWS)
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: SLOW_ARN, name: 'same', input }))).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
  });

  it('StopExecution of a long Task aborts the handler signal and runs no further state', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: SLOW_ARN, name: 'hang-1', input: '{"mode":"task"}' }),
    );
    while (!hangSignal) await new Promise((r) => setTimeout(r, 5));
    const before = (await client.send(new DescribeExecutionCommand({ executionArn }))).status;
    expect(before).toBe('RUNNING');
    await client.send(new StopExecutionCommand({ executionArn }));
    expect(hangSignal.aborted).toBe(true);
    await sfn.waitForIdle();
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(d.status).toBe('ABORTED');
    expect(d.stopDate).toBeInstanceOf(Date);
    expect(calls.After ?? []).toEqual([]);
    // stopping again is a no-op
    await client.send(new StopExecutionCommand({ executionArn }));
  });

  it('ListExecutions by state machine, with a status filter', async () => {
    const all = await client.send(new ListExecutionsCommand({ stateMachineArn: SLOW_ARN }));
    expect(all.executions?.map((e) => e.name)).toEqual(['hang-1', 'same']);
    const aborted = await client.send(new ListExecutionsCommand({ stateMachineArn: SLOW_ARN, statusFilter: 'ABORTED' }));
    expect(aborted.executions).toHaveLength(2);
    const running = await client.send(new ListExecutionsCommand({ stateMachineArn: SLOW_ARN, statusFilter: 'RUNNING' }));
    expect(running.executions).toEqual([]);
    const paged = await client.send(new ListExecutionsCommand({ stateMachineArn: SLOW_ARN, maxResults: 1 }));
    expect(paged.executions).toHaveLength(1);
    const next = await client.send(new ListExecutionsCommand({ stateMachineArn: SLOW_ARN, maxResults: 1, nextToken: paged.nextToken }));
    expect(next.executions?.[0].name).toBe('same');
    expect(next.nextToken).toBeUndefined();
  });

  it('answers with the SDK error shapes', async () => {
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: `${ACCOUNT}:stateMachine:Nope` }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
      message: expect.stringContaining('Nope'),
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new DescribeExecutionCommand({ executionArn: `${ACCOUNT}:execution:Slow:nope` }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
    await expect(client.send(new StopExecutionCommand({ executionArn: `${ACCOUNT}:execution:Slow:nope` }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
    await expect(client.send(new ListExecutionsCommand({ stateMachineArn: `${ACCOUNT}:stateMachine:Nope` }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: RETRY_ARN, input: 'not json' }))).rejects.toMatchObject({
      name: 'InvalidExecutionInput',
    });
  });

  it('rejects an invalid definition at start', async () => {
    await expect(
      startLocalSfn({
        stateMachines: [{ arn: `${ACCOUNT}:stateMachine:Bad`, name: 'Bad', definition: { StartAt: 'X', States: {} } }],
        taskHandlers: {},
      }),
    ).rejects.toThrow(/invalid/i);
  });
});
