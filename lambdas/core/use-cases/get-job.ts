/** GetJob: only the job's owner sees it. */
import type { Principal } from '../account';
import { NotFoundError } from '../errors';
import type { Job } from '../job';
import type { JobRepository } from '../ports';

export const getJob =
  (deps: { jobs: JobRepository }) =>
  async (caller: Principal, id: string): Promise<Job> => {
    const job = await deps.jobs.get(id);
    if (!job || job.owner !== caller.accountId) throw new NotFoundError('job not found');
    return job;
  };
