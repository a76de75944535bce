/**
 * Job progress of a chunked build: ranges finish in any order and several at once, so each reports
 * how many of its source bytes it has built so far; the job counts each range's furthest report once
 * (JobRepository.addWork: a retried range, which starts again from its first byte, adds nothing until
 * it passes what its failed attempt reported), and progress moves from 5 % to 80 % with the total
 * (HashFile then takes it from 80 % to 99 %). Reports from one range are at most once a second
 * (the pipeline's onProgress), so the job item sees at most MaxConcurrency writes a second.
 */
import type { RangeTask } from './chunked';
import { steps } from './deps';

export const RANGES_FROM = 5;
export const RANGES_TO = 80;

/** `done`: source bytes of range `task.index` built so far by this attempt (cumulative). */
export async function reportRangeBytes(task: RangeTask, done: number): Promise<void> {
  await steps.work(task.jobId, { unit: task.index, done, total: task.size, from: RANGES_FROM, to: RANGES_TO, phase: 'BuildRanges' });
}
