/** JobRepository on the one table: GetItem by id, conditional updates on `status`. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../../core/errors';
import type { Job, JobStatus } from '../../core/job';
import type { JobRepository } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';

const strip = (item: Record<string, unknown>): Job => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...job } = item;
  void PK, SK, GSI1PK, GSI1SK, entity;
  return job as unknown as Job;
};

export class DynamoJobRepository implements JobRepository {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(job: Job): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.job(job.id), entity: 'Job', GSI1PK: keys.ownerJobs(job.owner), GSI1SK: `${job.created_at}#${job.id}`, ...job },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new StateConflictError(`job ${job.id} already exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Job | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.job(id), ConsistentRead: true }));
    return out.Item ? strip(out.Item) : undefined;
  }

  async update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Job>): Promise<Job> {
    const item = await conditionalUpdate(this.doc, this.tableName, 'job', {
      key: keys.job(id),
      expect: { stateAttribute: 'status', states: expect.statuses },
      set: changes,
    });
    return strip(item);
  }
}
