/**
 * Job progress of a chunked build: ranges finish in any order and several at once, so each adds the
 * source bytes it built to the job's atomic counter, and progress moves from 5 % to 80 % with the
 * total (HashFile then takes it from 80 % to 99 %). Reports from one range are at most once a second
 * (the pipeline's onProgress), so the job item sees at most MaxConcurrency writes a second.
 */
import type { RangeTask } from './chunked';
import { steps } from './deps';

export const RANGES_FROM = 5;
export const RANGES_TO = 80;

export async function reportRangeBytes(task: RangeTask, bytes: number): Promise<void> {
  await steps.work(task.jobId, { bytes, total: task.size, from: RANGES_FROM, to: RANGES_TO, phase: 'BuildRanges' });
}
