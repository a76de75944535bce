/**
 * Finalize: the image becomes `active` with its file; the job SUCCESS at 100 %. A clone's file is
 * CopyFile's (`$.copied.file`); an export (lambdas/workflow/copy.ts) ends its job alone.
 */
import { StateConflictError } from '../../core/errors';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import { exportSteps, isCopyState, isExportState, type CopyState } from '../copy';
import type { BuildState } from '../state';
import { classifyTableError } from '../table-errors';

export const handler = async (state: BuildState | CopyState): Promise<{ ok: true }> => {
  const file = isCopyState(state) ? state.copied?.file : state.file;
  if (!isExportState(state) && !file) throw new Error('Finalize needs $.file from BuildImageFile (or $.copied.file from CopyFile)');
  try {
    if (isExportState(state)) await exportSteps.complete(state.jobId);
    else await steps.complete(state.jobId, (state as BuildState).imageId, file!);
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw classifyTableError(err, 'recording the finished build');
  }
  return { ok: true };
};
