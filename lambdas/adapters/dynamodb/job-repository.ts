/** JobRepository on the one table: GetItem by id, conditional updates on `status`. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, StateConflictError } from '../../core/errors';
import { appendJobHistory, type Job, type JobHistoryEntry, type JobStatus } from '../../core/job';
import type { JobRepository } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';
import { getConsistent, putNew } from './items';

const strip = (item: Record<string, unknown>): Job => {
  const { PK, SK, GSI1PK, GSI1SK, entity, work_units, ...job } = item;
  return job as unknown as Job;
};

/**
 * A bound on addWork's optimistic rounds. Each failed round means another writer raised the unit's
 * mark (marks only rise), so rounds end by themselves; in a build at most a stale attempt and its
 * retry ever race on one range.
 */
const WORK_ROUNDS = 100;

/**
 * A bound on recordHistory's optimistic rounds: each lost round means another write changed the job
 * (progress, another range's history entry) between the read and the write.
 */
const HISTORY_ROUNDS = 20;
/** The statuses a job takes history entries in: its workflow is still running. */
const HISTORY_STATUSES: readonly JobStatus[] = ['INIT', 'RUNNING'];

/** DynamoDB refuses to SET a path inside a map attribute that does not exist yet. */
const isMissingMap = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'ValidationException' && /document path/i.test((err as Error).message ?? '');

export class DynamoJobRepository implements JobRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: Job): Promise<void> {
    await putNew(
      this.doc,
      this.tableName,
      { ...keys.job(job.id), entity: 'Job', GSI1PK: keys.ownerJobs(job.owner), GSI1SK: `${job.created_at}#${job.id}`, ...job },
      `job ${job.id}`,
    );
  }

  async get(id: string): Promise<Job | undefined> {
    return getConsistent(this.doc, this.tableName, keys.job(id), strip);
  }

  async update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Job>): Promise<Job> {
    const item = await conditionalUpdate(this.doc, this.tableName, 'job', {
      key: keys.job(id),
      expect: { stateAttribute: 'status', states: expect.statuses },
      set: changes,
    });
    return strip(item);
  }

  /**
   * The item keeps each unit's high-water mark in the map `work_units` (stripped from the Job). A
   * write names the mark it read (`prev`): `SET work_units.#u = :done ADD work_done :rise` on the
   * condition that the job is RUNNING and the mark is still `prev`. The first write of an attempt
   * assumes 0; when a failed attempt got further, the condition fails, the mark is read and the
   * write repeated with the true rise (none while `done` is below it).
   */
  async addWork(id: string, work: { unit: number; done: number }): Promise<Job> {
    const names = { '#status': 'status', '#units': 'work_units', '#u': String(work.unit) };
    let prev = 0;
    for (let round = 0; round < WORK_ROUNDS; round++) {
      if (work.done <= prev) return this.current(id);
      try {
        const out = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.job(id),
            UpdateExpression: 'SET #units.#u = :done ADD work_done :rise',
            ConditionExpression: `#status = :running AND ${prev === 0 ? 'attribute_not_exists(#units.#u)' : '#units.#u = :prev'}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':done': work.done,
              ':rise': work.done - prev,
              ':running': 'RUNNING',
              ...(prev !== 0 && { ':prev': prev }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return strip(out.Attributes as Record<string, unknown>);
      } catch (err) {
        if (isMissingMap(err)) {
          // the job's first unit: create the map (never replacing one a concurrent unit created)
          await this.doc
            .send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: keys.job(id),
                UpdateExpression: 'SET #units = if_not_exists(#units, :empty)',
                ConditionExpression: '#status = :running',
                ExpressionAttributeNames: { '#status': 'status', '#units': 'work_units' },
                ExpressionAttributeValues: { ':empty': {}, ':running': 'RUNNING' },
              }),
            )
            .catch((e) => {
              if (!(e instanceof ConditionalCheckFailedException)) throw e;
            });
          continue;
        }
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.job(id), ConsistentRead: true }));
        const status = out.Item?.status as JobStatus | undefined;
        if (status !== 'RUNNING') throw new StateConflictError(`job ${id} is ${status ?? 'gone'}; expected RUNNING`, status);
        prev = Number((out.Item?.work_units as Record<string, unknown> | undefined)?.[String(work.unit)] ?? 0);
      }
    }
    throw new Error(`job ${id}: the work of unit ${work.unit} kept changing under ${WORK_ROUNDS} writes`);
  }

  /**
   * Read, append (appendJobHistory), write back on the condition that the status is still INIT or
   * RUNNING and the revision the one read: a concurrent write (progress, another range's entry) makes
   * the round start again from a fresh read, so no entry is lost and none is written twice.
   */
  async recordHistory(id: string, entry: JobHistoryEntry): Promise<boolean> {
    for (let round = 0; round < HISTORY_ROUNDS; round++) {
      const job = await this.get(id);
      if (!job) throw new NotFoundError(`job ${id} not found`);
      if (!HISTORY_STATUSES.includes(job.status))
        throw new StateConflictError(`job ${id} is ${job.status}; expected ${HISTORY_STATUSES.join(' or ')}`, job.status);
      const history = appendJobHistory(job.history, entry);
      if (!history) return false;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.job(id),
            UpdateExpression: 'SET #history = :history, #rev = #rev + :one',
            ConditionExpression: '#status IN (:init, :running) AND #rev = :rev',
            ExpressionAttributeNames: { '#history': 'history', '#rev': 'rev', '#status': 'status' },
            ExpressionAttributeValues: { ':history': history, ':one': 1, ':init': 'INIT', ':running': 'RUNNING', ':rev': job.rev },
          }),
        );
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        // a concurrent writer won: back off a little, at random, so that many (a Map's ranges) spread out
        await new Promise((r) => setTimeout(r, Math.random() * 10 * (round + 1)));
      }
    }
    throw new Error(`job ${id}: kept changing under ${HISTORY_ROUNDS} history writes`);
  }

  private async current(id: string): Promise<Job> {
    const job = await this.get(id);
    if (job?.status !== 'RUNNING') throw new StateConflictError(`job ${id} is ${job?.status ?? 'gone'}; expected RUNNING`, job?.status);
    return job;
  }

  async raiseProgress(id: string, changes: { progress: number; eta?: string; phase?: string }): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status', '#progress': 'progress', '#rev': 'rev' };
    const values: Record<string, unknown> = { ':running': 'RUNNING', ':progress': changes.progress, ':one': 1 };
    const sets = ['#progress = :progress', '#rev = #rev + :one'];
    if (changes.eta !== undefined) {
      names['#eta'] = 'eta';
      values[':eta'] = changes.eta;
      sets.push('#eta = :eta');
    }
    if (changes.phase !== undefined) {
      names['#phase'] = 'phase';
      values[':phase'] = changes.phase;
      sets.push('#phase = :phase');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.job(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#status = :running AND (attribute_not_exists(#progress) OR #progress < :progress)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
