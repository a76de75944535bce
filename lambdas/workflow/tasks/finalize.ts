/** Finalize: the image becomes `active` with its file; the job SUCCESS at 100 %. */
import { StateConflictError } from '../../core/errors';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import type { BuildState } from '../state';
import { classifyTableError } from '../table-errors';

export const handler = async (state: BuildState): Promise<{ ok: true }> => {
  if (!state.file) throw new Error('Finalize needs $.file from BuildImageFile');
  try {
    await steps.complete(state.jobId, state.imageId, state.file);
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw classifyTableError(err, 'recording the finished build');
  }
  return { ok: true };
};
