/**
 * The local Step Functions endpoint enforces AWS's limits (time limits scaled by `timeScale`): a
 * function's timeout (Sandbox.Timedout), a Task's TimeoutSeconds (States.Timeout), the execution's
 * TimeoutSeconds (TIMED_OUT), the 256 KB state payload (States.DataLimitExceeded, terminal) and
 * Lambda's 6 MB response; and it emits AWS's status-change event for every execution.
 */
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { MAX_STATE_PAYLOAD_BYTES, startLocalSfn, type ExecutionStatusChangeEvent, type LocalSfn } from '../../../local/sfn';
import { LAMBDA_LIMITS } from '../../../local/lambda';

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine';
const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const caught = { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cleanup' };
const cleanupStates = { Cleanup: { Type: 'Task', Resource: fn('Cleanup'), ResultPath: '$.cleanup', End: true } };

const machines = {
  // the function behind Work has a 30 s timeout (0.3 s at this scale)
  FunctionTimeout: {
    StartAt: 'Work',
    States: { Work: { Type: 'Task', Resource: fn('Work'), Catch: [caught], End: true }, ...cleanupStates },
  },
  // TimeoutSeconds 10 (0.1 s at this scale) on a function allowed 900 s
  StateTimeout: {
    StartAt: 'Linger',
    States: { Linger: { Type: 'Task', Resource: fn('Linger'), TimeoutSeconds: 10, Catch: [caught], End: true }, ...cleanupStates },
  },
  // the execution may last 60 s (0.6 s at this scale)
  ExecutionTimeout: { StartAt: 'Linger', TimeoutSeconds: 60, States: { Linger: { Type: 'Task', Resource: fn('Linger'), End: true } } },
  // a result over 256 KB: terminal, the Catch does not run
  BigResult: { StartAt: 'Big', States: { Big: { Type: 'Task', Resource: fn('Big'), Catch: [caught], End: true }, ...cleanupStates } },
  // two results under 256 KB each whose merged state is over it
  BigState: {
    StartAt: 'Half',
    States: {
      Half: { Type: 'Task', Resource: fn('Half'), ResultPath: '$.a', Next: 'OtherHalf' },
      OtherHalf: { Type: 'Task', Resource: fn('OtherHalf'), ResultPath: '$.b', Catch: [caught], Next: 'Cleanup' },
      ...cleanupStates,
    },
  },
  // a response over Lambda's 6 MB: the task fails (catchable), as Lambda's Invoke error
  HugeResponse: { StartAt: 'Huge', States: { Huge: { Type: 'Task', Resource: fn('Huge'), Catch: [caught], End: true }, ...cleanupStates } },
  Stoppable: { StartAt: 'Linger', States: { Linger: { Type: 'Task', Resource: fn('Linger'), End: true } } },
};

let sfn: LocalSfn;
let client: SFNClient;
const statusEvents: ExecutionStatusChangeEvent[] = [];
const cleanups: unknown[] = [];
let lingerMs = 5_000;
let workRemainingMs = -1;

beforeAll(async () => {
  sfn = await startLocalSfn({
    stateMachines: Object.entries(machines).map(([name, definition]) => ({ arn: `${SM}:${name}`, name, definition })),
    timeScale: 0.01,
    taskFunctions: { Work: { name: 'WorkFunction', timeoutMs: 30_000, memoryMb: 256 } },
    retryIntervalOverrides: {},
    taskHandlers: {
      Work: async (_, ctx) => {
        workRemainingMs = ctx.lambda.getRemainingTimeInMillis();
        await sleep(2_000);
        return 'late';
      },
      Linger: async () => {
        await sleep(lingerMs);
        return 'late';
      },
      Big: async () => 'x'.repeat(MAX_STATE_PAYLOAD_BYTES),
      Half: async () => 'x'.repeat(MAX_STATE_PAYLOAD_BYTES / 2),
      OtherHalf: async () => 'x'.repeat(MAX_STATE_PAYLOAD_BYTES / 2),
      Huge: async () => 'x'.repeat(LAMBDA_LIMITS.maxResponseBytes),
      Cleanup: async (input) => {
        cleanups.push(input);
        return { cleaned: true };
      },
    },
    onStatusChange: (e) => statusEvents.push(e),
  });
  client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterAll(async () => {
  client.destroy();
  await sfn.close();
});

async function run(machine: keyof typeof machines, input: object = {}): Promise<DescribeExecutionCommandOutput> {
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn: `${SM}:${machine}`, input: JSON.stringify(input) }),
  );
  for (;;) {
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    await sleep(20);
  }
}

describe('local Step Functions limits', () => {
  beforeEach(() => {
    cleanups.length = 0;
    lingerMs = 5_000;
  });

  it('fails a task whose function outlives its timeout with Sandbox.Timedout, as Lambda reports it', async () => {
    const d = await run('FunctionTimeout');
    expect(d.status).toBe('SUCCEEDED'); // through the Catch
    const { error } = JSON.parse(d.output!);
    expect(error.Error).toBe('Sandbox.Timedout');
    expect(JSON.parse(error.Cause)).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/Task timed out after 0\.30 seconds$/),
    });
    // the handler's Lambda context counted down from the scaled timeout
    expect(workRemainingMs).toBeGreaterThan(0);
    expect(workRemainingMs).toBeLessThanOrEqual(300);
  });

  it('fails a task past its TimeoutSeconds with States.Timeout', async () => {
    const d = await run('StateTimeout');
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).error.Error).toBe('States.Timeout');
  });

  it('ends an execution past its TimeoutSeconds TIMED_OUT', async () => {
    const d = await run('ExecutionTimeout');
    expect(d).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const seconds = (d.stopDate!.getTime() - d.startDate!.getTime()) / 1000;
    expect(seconds).toBeLessThan(5); // not the task's 5 s: the execution's scaled 0.6 s
  });

  it('fails the execution with States.DataLimitExceeded on a task result over 256 KB, skipping its Catch', async () => {
    const d = await run('BigResult');
    expect(d).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(cleanups).toEqual([]);
  });

  it('fails the execution with States.DataLimitExceeded when the merged state grows over 256 KB', async () => {
    const d = await run('BigState');
    expect(d).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(cleanups).toEqual([]);
  });

  it('refuses an execution input over 256 KB', async () => {
    await expect(
      client.send(
        new StartExecutionCommand({
          stateMachineArn: `${SM}:Stoppable`,
          input: JSON.stringify({ pad: 'x'.repeat(MAX_STATE_PAYLOAD_BYTES) }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });

  it('fails a task whose response is over 6 MB with Function.ResponseSizeTooLarge (catchable)', async () => {
    const d = await run('HugeResponse');
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).error.Error).toBe('Function.ResponseSizeTooLarge');
    expect(cleanups).toHaveLength(1);
  });

  it("emits AWS's status-change event when an execution starts and when it ends", async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: `${SM}:Stoppable`, name: 'stop-me', input: '{"jobId":"j"}' }),
    );
    await client.send(new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'the user cancelled the job' }));
    const mine = statusEvents.filter((e) => e.detail.executionArn === executionArn);
    expect(mine.map((e) => e.detail.status)).toEqual(['RUNNING', 'ABORTED']);
    expect(mine[1]).toMatchObject({
      version: '0',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      account: '123456789012',
      region: 'us-east-1',
      resources: [executionArn],
      detail: {
        executionArn,
        stateMachineArn: `${SM}:Stoppable`,
        name: 'stop-me',
        status: 'ABORTED',
        input: '{"jobId":"j"}',
        error: 'Cancelled',
        cause: 'the user cancelled the job',
        startDate: expect.any(Number),
        stopDate: expect.any(Number),
      },
    });
    const timedOut = statusEvents.filter((e) => e.detail.status === 'TIMED_OUT');
    expect(timedOut.length).toBeGreaterThanOrEqual(1);
    expect(timedOut[0].detail).toMatchObject({ error: 'States.Timeout' });
  });
});
