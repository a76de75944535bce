/**
 * A job's history of retries (docs/decisions/retry-history.md): the bounded, replay-proof list
 * (appendJobHistory); the DynamoDB adapter's conditional read-modify-write against the local DynamoDB
 * (concurrent entries all land, a replay lands once, an ended job takes none); and the workflow task
 * wrapper (lambdas/workflow/attempt.ts), which records `failed` and `retried` from `$$.State.RetryCount`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoJobRepository } from '../../../lambdas/adapters/dynamodb/job-repository';
import { StateConflictError } from '../../../lambdas/core/errors';
import { appendJobHistory, JOB_HISTORY_LIMIT, publicJobHistory, type Job, type JobHistoryEntry } from '../../../lambdas/core/job';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamo';
import { ensureTable } from '../../../local/table';
import { FakeJobs } from '../../helpers/fakes';

const jobs = new FakeJobs();
jest.mock('../../../lambdas/wiring', () => ({
  ...jest.requireActual('../../../lambdas/wiring'),
  jobRepository: () => jobs,
}));

import { isTaskEnvelope, unwrapTask, workflowTask } from '../../../lambdas/workflow/attempt';
import { TransientStorageError } from '../../../lambdas/workflow/errors';

const entry = (i: number, over: Partial<JobHistoryEntry> = {}): JobHistoryEntry => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  event: 'retried',
  step: 'BuildRange',
  attempt: 1,
  range: i,
  id: `retried|BuildRange|t|${i}|1`,
  ...over,
});

const job = (id: string, over: Partial<Job> = {}): Job => ({
  id,
  owner: 'acc-1',
  type: 'CreateImageFromMachine',
  status: 'RUNNING',
  progress: 0,
  entities: { image_id: `img-${id}` },
  created_at: '2026-01-01T00:00:00.000Z',
  rev: 1,
  ...over,
});

describe('appendJobHistory', () => {
  it('appends, keeps the last JOB_HISTORY_LIMIT, and takes an id only once', () => {
    let history: JobHistoryEntry[] | undefined;
    for (let i = 0; i < JOB_HISTORY_LIMIT + 7; i++) history = appendJobHistory(history, entry(i));
    expect(history).toHaveLength(JOB_HISTORY_LIMIT);
    expect(history![0]!.range).toBe(7);
    expect(history!.at(-1)!.range).toBe(JOB_HISTORY_LIMIT + 6);
    expect(appendJobHistory(history, entry(JOB_HISTORY_LIMIT + 6, { at: 'later' }))).toBeUndefined();
  });

  it('cuts a long error message', () => {
    const [e] = appendJobHistory([], entry(0, { event: 'failed', error: { code: 'X', message: 'm'.repeat(10_000) } }))!;
    expect(e!.error!.message.length).toBeLessThanOrEqual(500);
  });

  it('shows entries without their id', () => {
    expect(publicJobHistory({ history: [entry(3)] })).toEqual([
      { at: entry(3).at, event: 'retried', step: 'BuildRange', attempt: 1, range: 3 },
    ]);
    expect(publicJobHistory({})).toEqual([]);
  });
});

describe('DynamoJobRepository.recordHistory (local DynamoDB)', () => {
  let ddb: LocalDynamo;
  let client: DynamoDBClient;
  let repo: DynamoJobRepository;
  beforeAll(async () => {
    ddb = await startLocalDynamo();
    client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    await ensureTable(client, 'history-test');
    repo = new DynamoJobRepository(DynamoDBDocumentClient.from(client), 'history-test');
  });
  afterAll(async () => {
    client?.destroy();
    await ddb?.close();
  });

  it('lands every one of concurrent entries (and progress writes between them) exactly once, replays included', async () => {
    await repo.create(job('j-1'));
    const entries = Array.from({ length: 12 }, (_, i) => entry(i));
    const results = await Promise.all([
      ...entries.map((e) => repo.recordHistory('j-1', e)),
      ...entries.slice(0, 4).map((e) => repo.recordHistory('j-1', { ...e, at: 'a replay' })),
      ...[10, 20, 30].map((progress) => repo.raiseProgress('j-1', { progress })),
    ]);
    expect(results.slice(0, 16).filter((r) => r === true)).toHaveLength(12);
    const after = await repo.get('j-1');
    expect(after!.history!.map((e) => e.range).sort((a, b) => a! - b!)).toEqual(entries.map((e) => e.range));
    // an entry and its replay race: whichever lands first is the one kept
    expect(after!.progress).toBe(30);
    expect(await repo.recordHistory('j-1', entries[0]!)).toBe(false);
  });

  it('takes entries while the job is INIT or RUNNING, none once it has ended', async () => {
    await repo.create(job('j-2', { status: 'INIT' }));
    expect(await repo.recordHistory('j-2', entry(1))).toBe(true);
    await repo.update('j-2', { statuses: ['INIT'] }, { status: 'FAIL' });
    await expect(repo.recordHistory('j-2', entry(2))).rejects.toBeInstanceOf(StateConflictError);
    expect((await repo.get('j-2'))!.history).toHaveLength(1);
  });
});

describe('workflowTask (lambdas/workflow/attempt.ts)', () => {
  const lambda = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
  const envelope = (state: { jobId: string; x?: number }, retryCount: number, enteredTime = '2026-01-01T00:00:00.000Z') => ({
    state,
    attempt: { retryCount, enteredTime },
  });
  let failNext: Error | undefined;
  const seen: unknown[] = [];
  const handler = workflowTask('StartRanges', async (state: { jobId: string }) => {
    seen.push(state);
    if (failNext) {
      const err = failNext;
      failNext = undefined;
      throw err;
    }
    return { ok: true };
  });

  beforeEach(() => {
    jobs.items.clear();
    seen.length = 0;
  });

  it('hands the task the state document alone, from the envelope or plain', async () => {
    await jobs.create(job('j-3'));
    await handler(envelope({ jobId: 'j-3', x: 1 }, 0), lambda);
    await handler({ jobId: 'j-3', x: 2 } as never, lambda);
    expect(seen).toEqual([
      { jobId: 'j-3', x: 1 },
      { jobId: 'j-3', x: 2 },
    ]);
    expect((await jobs.get('j-3'))!.history).toBeUndefined();
    expect(isTaskEnvelope({ state: {}, attempt: { retryCount: -1 } })).toBe(false);
    expect(unwrapTask({ jobId: 'j' })).toEqual({ state: { jobId: 'j' }, attempt: { retryCount: 0, enteredTime: '' } });
  });

  it('records a retryable failure with its error, then the retry with its attempt, each once however often replayed', async () => {
    await jobs.create(job('j-4'));
    failNext = new TransientStorageError('S3 said 500');
    await expect(handler(envelope({ jobId: 'j-4' }, 0), lambda)).rejects.toThrow('S3 said 500');
    await handler(envelope({ jobId: 'j-4' }, 1), lambda);
    await handler(envelope({ jobId: 'j-4' }, 1), lambda); // the same invocation again
    expect(publicJobHistory((await jobs.get('j-4'))!)).toEqual([
      {
        at: expect.any(String),
        event: 'failed',
        step: 'StartRanges',
        attempt: 0,
        error: { code: 'TransientStorageError', message: 'S3 said 500' },
      },
      { at: expect.any(String), event: 'retried', step: 'StartRanges', attempt: 1 },
    ]);
    // the step entered again (a loop) is another entry
    await handler(envelope({ jobId: 'j-4' }, 1, '2026-01-01T00:01:00.000Z'), lambda);
    expect((await jobs.get('j-4'))!.history).toHaveLength(3);
  });

  it('records nothing for an error no Retry takes, nor on an ended job, and never fails the task for its history', async () => {
    await jobs.create(job('j-5'));
    failNext = Object.assign(new Error('no such disk'), { name: 'SourceUnavailableError' });
    await expect(handler(envelope({ jobId: 'j-5' }, 0), lambda)).rejects.toThrow('no such disk');
    expect((await jobs.get('j-5'))!.history).toBeUndefined();

    await jobs.create(job('j-6', { status: 'SUCCESS' }));
    await expect(handler(envelope({ jobId: 'j-6' }, 2), lambda)).resolves.toEqual({ ok: true });
    expect((await jobs.get('j-6'))!.history).toBeUndefined();

    // the table failing: the task still runs
    const broken = jest
      .spyOn(jobs, 'recordHistory')
      .mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await jobs.create(job('j-7'));
    await expect(handler(envelope({ jobId: 'j-7' }, 1), lambda)).resolves.toEqual({ ok: true });
    expect(broken).toHaveBeenCalled();
    broken.mockRestore();
  });
});
