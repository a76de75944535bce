/**
 * CopyFile (the copy path of the build workflow, lambdas/workflow/copy.ts): one invocation copies an
 * image file server-side — a clone's under the clone's prefix (ImageFileStore.copyFile), an export's
 * to its destination as it is (ObjectCopier) or converted to another disk format
 * (ImageFileConverter) — with the same adapters the request path uses: CopyObject up to the multipart
 * threshold, UploadPartCopy of ranges in parallel above it, every upload aborted on failure, the
 * result read back and checked against the manifest.
 *
 * Errors: the copy's own refusals (a corrupt file, a file that cannot be converted: core
 * ServiceErrors) are final; a missing source is SourceUnavailableError; anything else from storage
 * is TransientStorageError, retried (each attempt a fresh copy). A job cancelled or failed meanwhile
 * stops the task before it starts, and after it: what it wrote is removed (Cleanup would find the
 * clone's prefix, but a cancelled execution never reaches Cleanup).
 */
import { ServiceError, StateConflictError } from '../../core/errors';
import { imageFileConverter, imageFileStore, objectCopier } from '../../wiring';
import { type CopyResult, type CopyState, exportSteps, removeExportedObject } from '../copy';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import { classifyS3Error } from '../s3-errors';
import { classifyTableError } from '../table-errors';
import { removeImageObjects } from './cleanup';
import { workflowTask } from '../attempt';

const PHASE = 'CopyFile';

async function guarded<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw classifyTableError(err, what);
  }
}

const copying = async <T>(label: string, copy: () => Promise<T>): Promise<T> => {
  try {
    return await copy();
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw classifyS3Error(err, label);
  }
};

export const handler = workflowTask('CopyFile', async (state: CopyState): Promise<CopyResult> => {
  const { copy } = state;
  const label = `the file of image ${copy.sourceImageId}`;
  if (copy.kind === 'clone') {
    const { imageId } = state as Extract<CopyState, { copy: { kind: 'clone' } }>;
    await guarded('starting the clone', () => steps.begin(state.jobId, imageId, PHASE));
    await guarded('starting the clone', () => steps.progress(state.jobId, 5, PHASE));
    const file = await copying(label, () => imageFileStore().copyFile(copy.file, imageId));
    if (!(await steps.stillBuilding(state.jobId, imageId))) {
      await removeImageObjects(imageId);
      throw new BuildConflictError(`the clone ${imageId} was cancelled or deleted`);
    }
    return { file };
  }
  await guarded('starting the export', () => exportSteps.begin(state.jobId, PHASE));
  await guarded('starting the export', () => steps.progress(state.jobId, 5, PHASE));
  await copying(label, () =>
    copy.output
      ? imageFileConverter().convertImageFile(copy.file, copy.output, copy.toKey)
      : objectCopier().copyImageFile(copy.file, copy.toKey),
  );
  if (!(await exportSteps.stillExporting(state.jobId))) {
    await removeExportedObject(copy.toKey);
    throw new BuildConflictError(`the export job ${state.jobId} was cancelled`);
  }
  return {};
});
