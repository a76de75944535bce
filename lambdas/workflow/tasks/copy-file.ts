/**
 * CopyFile (the copy path of the build workflow, lambdas/workflow/copy.ts): copies an image file
 * server-side — a clone's under the clone's prefix, an export's to its destination as it is — in a
 * checkpointed loop (lambdas/workflow/copy-loop.ts): each call copies up to a budget of parts, or
 * hashes up to a budget of the copy's bytes, and returns its checkpoint ($.copied); the state machine
 * calls it again until `done` (CopyDone). A retry resumes from the last checkpoint. A conversion to
 * another disk format (ImageFileConverter) still runs in one call (its limit: README, "Limits and cost").
 *
 * Errors: the copy's own refusals (a corrupt file, a file that cannot be converted: core
 * ServiceErrors) are final; a missing source is SourceUnavailableError; anything else from storage
 * is TransientStorageError, retried. A job cancelled or failed meanwhile stops the next call before it
 * starts (BuildConflictError), and Cleanup removes what was written; every call checks again after its
 * work and removes what was written (a stopped execution never reaches Cleanup nor calls again).
 */
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { ServiceError, StateConflictError } from '../../core/errors';
import { copySettingsFromEnv } from '../../adapters/s3/copy-object';
import { config, imageFileConverter, s3Client } from '../../wiring';
import type { ChunkingState } from '../chunked';
import { type CopyResult, type CopyState, exportSteps, removeExportedObject } from '../copy';
import { type CopyCheckpoint, copyStep } from '../copy-loop';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import { rangeIndexKey } from '../range-index';
import { classifyS3Error } from '../s3-errors';
import { imageFilePrefix } from '../state';
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

type LoopState = CopyState & { chunking?: ChunkingState };

export const handler = workflowTask(
  'CopyFile',
  async (state: LoopState, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<CopyResult> => {
    const { copy } = state;
    const label = `the file of image ${copy.sourceImageId}`;
    const clone = copy.kind === 'clone' ? (state as Extract<CopyState, { copy: { kind: 'clone' } }>).imageId : undefined;
    if (clone) await guarded('starting the clone', () => steps.begin(state.jobId, clone, PHASE));
    else await guarded('starting the export', () => exportSteps.begin(state.jobId, PHASE));
    const progress = (fraction: number) => guarded('reporting progress', () => steps.progress(state.jobId, 5 + 94 * fraction, PHASE));
    if (!state.copied) await progress(0);

    if (copy.kind === 'export' && copy.output) {
      const output = copy.output;
      await copying(label, () => imageFileConverter().convertImageFile(copy.file, output, copy.toKey));
      if (!(await exportSteps.stillExporting(state.jobId))) {
        await removeExportedObject(copy.toKey);
        throw new BuildConflictError(`the export job ${state.jobId} was cancelled`);
      }
      return { done: true, invocations: 1 };
    }

    const s3 = s3Client();
    const Bucket = config.imagesBucket();
    const toKey =
      copy.kind === 'clone' ? `${imageFilePrefix(clone!)}${copy.file.key.slice(copy.file.key.lastIndexOf('/') + 1)}` : copy.toKey;
    const settings = copySettingsFromEnv();
    const step = await copying(label, () =>
      copyStep({
        s3,
        bucket: Bucket,
        file: copy.file,
        toKey,
        settings,
        bytesPerInvocation: state.chunking?.hashBytesPerInvocation ?? 32 * 1024 ** 3,
        previous: state.copied?.phase ? (state.copied as CopyCheckpoint) : undefined,
        remainingMs: context && (() => context.getRemainingTimeInMillis()),
        onProgress: progress,
      }),
    );
    // A cancel (or delete) may have landed during this call, and a stopped execution never reaches
    // Cleanup nor calls again: whatever this call wrote is removed here.
    const wanted = clone ? await steps.stillBuilding(state.jobId, clone) : await exportSteps.stillExporting(state.jobId);
    if (!wanted) {
      if (clone) await removeImageObjects(clone);
      else await removeExportedObject(toKey);
      throw new BuildConflictError(clone ? `the clone ${clone} was cancelled or deleted` : `the export job ${state.jobId} was cancelled`);
    }
    if (!step.done) return step;
    if (!clone) return step;
    // the range index travels with the file (it locates bytes of the file, the same in the copy)
    if (copy.file.rangeIndex)
      await copying(label, () =>
        s3.send(
          new CopyObjectCommand({
            Bucket,
            Key: rangeIndexKey(toKey),
            CopySource: `${Bucket}/${rangeIndexKey(copy.file.key).split('/').map(encodeURIComponent).join('/')}`,
          }),
        ),
      );
    return { ...step, file: { ...copy.file, key: toKey } };
  },
);
