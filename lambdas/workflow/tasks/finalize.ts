/**
 * Finalize: the image becomes `active` with its file; the job SUCCESS at 100 %. A clone's file is
 * CopyFile's (`$.copied.file`); an export (lambdas/workflow/copy.ts) ends its job alone. The build that
 * this invocation completes (not a retry of one already completed) counts once in the metrics:
 * ImagesCreated, BuildBytes (the file) and BuildSeconds (job creation → now).
 */
import { StateConflictError } from '../../core/errors';
import { clock, jobRepository } from '../../wiring';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import { exportSteps, isCopyState, isExportState, type CopyState } from '../copy';
import type { BuildState } from '../state';
import { classifyTableError } from '../table-errors';
import { countMetric, logger } from '../../observability/powertools';
import { workflowTask } from '../attempt';

export const handler = workflowTask('Finalize', async (state: BuildState | CopyState): Promise<{ ok: true }> => {
  const file = isCopyState(state) ? state.copied?.file : state.file;
  if (!isExportState(state) && !file) throw new Error('Finalize needs $.file from BuildImageFile (or $.copied.file from CopyFile)');
  if (isExportState(state)) {
    try {
      await exportSteps.complete(state.jobId);
    } catch (err) {
      if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
      throw classifyTableError(err, 'recording the finished export');
    }
    return { ok: true };
  }
  let before: Awaited<ReturnType<ReturnType<typeof jobRepository>['get']>>;
  try {
    before = await jobRepository().get(state.jobId);
    await steps.complete(state.jobId, (state as BuildState).imageId, file!);
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw classifyTableError(err, 'recording the finished build');
  }
  if (before && before.status !== 'SUCCESS') {
    const seconds = Math.max(0, (clock.now().getTime() - Date.parse(before.created_at)) / 1000);
    countMetric('ImagesCreated');
    countMetric('BuildBytes', file!.size);
    countMetric('BuildSeconds', seconds);
    logger.info('image built', { bytes: file!.size, seconds });
  }
  return { ok: true };
});
