/** JobRepository on the one table: GetItem by id, conditional updates on `status`. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../../core/errors';
import type { Job, JobStatus } from '../../core/job';
import type { JobRepository } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';
import { getConsistent, putNew } from './items';

const strip = (item: Record<string, unknown>): Job => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...job } = item;
  return job as unknown as Job;
};

export class DynamoJobRepository implements JobRepository {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(job: Job): Promise<void> {
    await putNew(this.doc, this.tableName, { ...keys.job(job.id), entity: 'Job', GSI1PK: keys.ownerJobs(job.owner), GSI1SK: `${job.created_at}#${job.id}`, ...job }, `job ${job.id}`);
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

  async addWork(id: string, bytes: number): Promise<Job> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.job(id),
          UpdateExpression: 'ADD work_done :bytes',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':bytes': bytes, ':running': 'RUNNING' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip(out.Attributes as Record<string, unknown>);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        const current = await this.get(id);
        throw new StateConflictError(`job ${id} is ${current?.status ?? 'gone'}; expected RUNNING`, current?.status);
      }
      throw err;
    }
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
