/**
 * `$$.State` in the local Step Functions (local/sfn-state-context.ts): a Task's Parameters read its
 * name, entered time and retry count as on AWS — RetryCount 0 on the first attempt, +1 per retry, back
 * to 0 (with a new EnteredTime) when the state is entered again, and counted per Map iteration.
 */
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { startLocalSfn, type LocalSfn } from '../../../local/sfn';

const ACCOUNT = 'arn:aws:states:us-east-1:123456789012';
const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
const LOOP_ARN = `${ACCOUNT}:stateMachine:Loop`;
const MAP_ARN = `${ACCOUNT}:stateMachine:Fan`;

class TransientStorageError extends Error {
  override name = 'TransientStorageError';
}

const retry = [{ ErrorEquals: ['TransientStorageError'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 }];
const stateParameters = {
  'state.$': '$',
  attempt: { 'name.$': '$$.State.Name', 'retryCount.$': '$$.State.RetryCount', 'enteredTime.$': '$$.State.EnteredTime' },
};

/** Flaky fails its first two attempts of each entry; the loop enters it twice. */
const loop = {
  StartAt: 'Flaky',
  States: {
    Flaky: { Type: 'Task', Resource: fn('Flaky'), Parameters: stateParameters, Retry: retry, ResultPath: '$.last', Next: 'Again' },
    Again: { Type: 'Choice', Choices: [{ Variable: '$.last.round', NumericLessThan: 2, Next: 'Flaky' }], Default: 'Done' },
    Done: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name', 'retryCount.$': '$$.State.RetryCount' }, End: true },
  },
};

const fan = {
  StartAt: 'Ranges',
  States: {
    Ranges: {
      Type: 'Map',
      ItemsPath: '$.items',
      MaxConcurrency: 3,
      ItemSelector: { 'index.$': '$$.Map.Item.Value' },
      ItemProcessor: {
        StartAt: 'Range',
        States: { Range: { Type: 'Task', Resource: fn('Range'), Parameters: stateParameters, Retry: retry, End: true } },
      },
      End: true,
    },
  },
};

interface Attempt {
  name: string;
  retryCount: number;
  enteredTime: string;
}

let sfn: LocalSfn;
let client: SFNClient;
const flaky: Attempt[] = [];
const ranges: { index: number; attempt: Attempt }[] = [];
let round = 0;

beforeAll(async () => {
  sfn = await startLocalSfn({
    stateMachines: [
      { arn: LOOP_ARN, name: 'Loop', definition: loop },
      { arn: MAP_ARN, name: 'Fan', definition: fan },
    ],
    taskHandlers: {
      Flaky: async ({ attempt }: { attempt: Attempt }) => {
        flaky.push(attempt);
        if (attempt.retryCount < 2) throw new TransientStorageError('S3 said 503');
        await new Promise((r) => setTimeout(r, 5)); // a later entry has a later EnteredTime
        return { round: ++round };
      },
      Range: async ({ state, attempt }: { state: { index: number }; attempt: Attempt }) => {
        ranges.push({ index: state.index, attempt });
        // range i fails i times
        if (attempt.retryCount < state.index) throw new TransientStorageError(`range ${state.index}: S3 said 500`);
        return { index: state.index, retries: attempt.retryCount };
      },
    },
    retryIntervalOverrides: { Flaky: 0, Range: 0 },
  });
  client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await sfn?.close();
  await sfn?.waitForIdle();
});

async function run(stateMachineArn: string, input: unknown): Promise<unknown> {
  const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  for (;;) {
    const out = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') {
      expect(out).toMatchObject({ status: 'SUCCEEDED' });
      return JSON.parse(out.output!);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('$$.State in the local Step Functions', () => {
  it('counts retries from 0 per entry of a state, with the time it was entered', async () => {
    const output = await run(LOOP_ARN, {});
    expect(flaky.map((a) => [a.name, a.retryCount])).toEqual([
      ['Flaky', 0],
      ['Flaky', 1],
      ['Flaky', 2],
      ['Flaky', 0],
      ['Flaky', 1],
      ['Flaky', 2],
    ]);
    const entered = [...new Set(flaky.map((a) => a.enteredTime))];
    expect(entered).toHaveLength(2); // a retry is not a new entry; the loop's second visit is
    for (const t of entered) expect(new Date(t).toISOString()).toBe(t);
    expect(Date.parse(entered[1]!)).toBeGreaterThan(Date.parse(entered[0]!));
    expect(output).toEqual({ name: 'Done', retryCount: 0 });
  });

  it('counts each Map iteration on its own', async () => {
    const output = await run(MAP_ARN, { items: [0, 1, 2] });
    expect(output).toEqual([
      { index: 0, retries: 0 },
      { index: 1, retries: 1 },
      { index: 2, retries: 2 },
    ]);
    for (const index of [0, 1, 2]) {
      const mine = ranges.filter((r) => r.index === index).map((r) => r.attempt);
      expect(mine.map((a) => a.retryCount)).toEqual(Array.from({ length: index + 1 }, (_, i) => i));
      expect(new Set(mine.map((a) => a.name))).toEqual(new Set(['Range']));
      expect(new Set(mine.map((a) => a.enteredTime)).size).toBe(1);
    }
  });
});
