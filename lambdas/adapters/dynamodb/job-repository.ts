/** JobRepository on the one table: GetItem by id, conditional updates on `status`. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Job, JobStatus } from '../../core/job';
import type { JobRepository } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';
import { getConsistent, putNew } from './items';

const strip = (item: Record<string, unknown>): Job => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...job } = item;
  void PK, SK, GSI1PK, GSI1SK, entity;
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
}
