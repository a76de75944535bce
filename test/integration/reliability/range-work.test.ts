/**
 * The per-range work counter of chunked builds (JobRepository.addWork) against the real local
 * DynamoDB: each range's furthest report counts once — a retried range that starts again from 0 adds
 * nothing until it passes what its failed attempt reported — under concurrent reports too, and only
 * while the job is RUNNING.
 */
import { randomUUID } from 'node:crypto';
import { StateConflictError } from '../../../lambdas/core/errors';
import type { Job } from '../../../lambdas/core/job';
import { jobRepository } from '../../../lambdas/wiring';

async function runningJob(): Promise<string> {
  const now = new Date().toISOString();
  const job: Job = {
    id: randomUUID(),
    owner: randomUUID(),
    type: 'CreateImageFromMachine',
    status: 'RUNNING',
    progress: 0,
    entities: { image_id: randomUUID() },
    created_at: now,
    begin_time: now,
    rev: 1,
  };
  await jobRepository().create(job);
  return job.id;
}

describe('range work counted once (JobRepository.addWork on DynamoDB)', () => {
  it('counts a range’s furthest report: a retry from 0 adds nothing until it passes the failed attempt', async () => {
    const id = await runningJob();
    const jobs = jobRepository();
    // attempt 1 of range 3 reports 10, then 30 bytes, then fails
    expect((await jobs.addWork(id, { unit: 3, done: 10 })).work_done).toBe(10);
    expect((await jobs.addWork(id, { unit: 3, done: 30 })).work_done).toBe(30);
    // attempt 2 starts again from its first byte
    expect((await jobs.addWork(id, { unit: 3, done: 5 })).work_done).toBe(30);
    expect((await jobs.addWork(id, { unit: 3, done: 30 })).work_done).toBe(30);
    expect((await jobs.addWork(id, { unit: 3, done: 40 })).work_done).toBe(40);
    // another range adds its own
    const after = await jobs.addWork(id, { unit: 0, done: 20 });
    expect(after.work_done).toBe(60);
    expect(after).not.toHaveProperty('work_units');
  });

  it('keeps the count exact under concurrent reports of one range and of many', async () => {
    const id = await runningJob();
    const jobs = jobRepository();
    const reports = [
      ...Array.from({ length: 20 }, (_, i) => ({ unit: 7, done: (i % 10) * 100 + 100 })), // a stale attempt and its retry, interleaved: max 1000
      ...Array.from({ length: 10 }, (_, i) => ({ unit: 100 + i, done: 50 })),
    ];
    await Promise.all(reports.map((r) => jobs.addWork(id, r)));
    expect((await jobs.get(id))?.work_done).toBe(1000 + 10 * 50);
  });

  it('refuses work once the job is no longer RUNNING', async () => {
    const id = await runningJob();
    const jobs = jobRepository();
    await jobs.addWork(id, { unit: 1, done: 10 });
    await jobs.update(id, { statuses: ['RUNNING'] }, { status: 'CANCELLED' });
    await expect(jobs.addWork(id, { unit: 1, done: 20 })).rejects.toBeInstanceOf(StateConflictError);
    await expect(jobs.addWork(id, { unit: 2, done: 20 })).rejects.toBeInstanceOf(StateConflictError);
    expect((await jobs.get(id))?.work_done).toBe(10);
  });
});
