/**
 * A job with the jobs started with it (IMS `sub_jobs_result`): one request that creates several
 * images has one job per image; the first lists the others. The family's status is derived here:
 * INIT while nothing started, RUNNING while any is unfinished, SUCCESS when all succeeded, FAIL when
 * all finished and any failed (a sub-job that was never written counts as failed).
 */
import type { Principal } from '../account';
import type { Job, JobStatus } from '../job';
import { isTerminal } from '../job';
import type { JobRepository } from '../ports';
import { getJob } from './get-job';

export interface JobFamily {
  job: Job;
  subJobs: (Job | { id: string; missing: true })[];
  status: JobStatus;
  error_code?: string;
  fail_reason?: string;
  /** Average progress of the family, 0–100. */
  progress: number;
  end_time?: string;
}

export function familyStatus(statuses: JobStatus[]): JobStatus {
  if (statuses.every((s) => s === 'SUCCESS')) return 'SUCCESS';
  if (statuses.every(isTerminal)) return statuses.includes('CANCELLED') && !statuses.includes('FAIL') ? 'CANCELLED' : 'FAIL';
  if (statuses.every((s) => s === 'INIT')) return 'INIT';
  return 'RUNNING';
}

export const getJobFamily =
  (deps: { jobs: JobRepository }) =>
  async (caller: Principal, id: string): Promise<JobFamily> => {
    const job = await getJob(deps)(caller, id);
    const subIds = job.entities.sub_job_ids ?? [];
    const subJobs = await Promise.all(
      subIds.map(async (sid) => {
        const sub = await deps.jobs.get(sid);
        return sub && sub.owner === caller.accountId ? sub : { id: sid, missing: true as const };
      }),
    );
    const all = [job, ...subJobs];
    const statuses = all.map((j) => ('missing' in j ? 'FAIL' : j.status));
    const status = familyStatus(statuses);
    const failed = all.find((j) => 'missing' in j || j.status === 'FAIL');
    const failure =
      status === 'FAIL' && failed
        ? 'missing' in failed
          ? { error_code: 'InternalError', fail_reason: `sub-job ${failed.id} was never started` }
          : { error_code: failed.error_code, fail_reason: failed.fail_reason }
        : {};
    const progress = Math.floor(
      all.reduce((n, j) => n + ('missing' in j ? 100 : j.status === 'SUCCESS' ? 100 : j.progress), 0) / all.length,
    );
    const ends = all.map((j) => ('missing' in j ? undefined : j.end_time));
    const end_time = isTerminal(status) && ends.every(Boolean) ? (ends as string[]).sort().at(-1) : undefined;
    return { job, subJobs, status, progress, ...failure, ...(end_time && { end_time }) };
  };
