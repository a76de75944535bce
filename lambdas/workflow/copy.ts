/**
 * Copies the build workflow runs (lib/constructs/build-workflow.ts, a Choice on `$.copy`): clones and
 * IMS exports of files large enough that the copy can outlast a request (the use cases decide:
 * lambdas/core/use-cases/{clone-image,ims-export-image}.ts). The input is a CopyWorkflowRequest:
 *
 *   CopySettings (Pass, $.chunking) → CopyFile ($.copied) ⇄ CopyDone (Choice: loop until $.copied.done)
 *   → Finalize → BuildSucceeded
 *   on error: Catch ($.error) → Cleanup → MarkFailed → BuildFailed, as for builds
 *
 * A clone is a build in all but its first step: its image is `creating`, its objects live under its
 * own prefix, and Cleanup/MarkFailed/Finalize treat it as any build. An export writes one object
 * outside any image's prefix (the caller's bucket area) and changes its job only, so those three
 * tasks branch on `copy.kind === 'export'`: Cleanup removes that one object (and its open uploads),
 * MarkFailed and Finalize end the job alone. Its input has no top-level `imageId`, so nothing that
 * ends builds can ever remove the exported image's own files.
 */
import { AbortMultipartUploadCommand, DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ImageFile } from '../core/image';
import type { CopyWorkflowRequest } from '../core/ports';
import { beginExport, completeExport, failExport, isStillExporting } from '../core/use-cases/export-steps';
import { clock, config, jobRepository, s3Client } from '../wiring';
import { TransientStorageError } from './errors';
import type { CaughtError } from './state';
import type { CopyCheckpoint } from './copy-loop';

export type CopyState = CopyWorkflowRequest & { copied?: CopyResult; error?: CaughtError; cleanupError?: CaughtError };
export type ExportCopyState = Extract<CopyWorkflowRequest, { copy: { kind: 'export' } }>;

/**
 * CopyFile's result ($.copied): its checkpoint (lambdas/workflow/copy-loop.ts) until `done`, then the
 * clone's file (an export's file is not an image's).
 */
export type CopyResult = Partial<CopyCheckpoint> & { done: boolean; invocations: number; file?: ImageFile };

/** Whether a workflow input (or state) is a copy's, not a build's. */
export const isCopyState = (state: unknown): state is CopyState => {
  const copy = (state as { copy?: { kind?: unknown } } | null)?.copy;
  return copy?.kind === 'clone' || copy?.kind === 'export';
};

export const isExportState = (state: unknown): state is ExportCopyState & CopyState => isCopyState(state) && state.copy.kind === 'export';

/** An export's input as the execution-status rule sees it (its JSON), or undefined for anything else. */
export function exportOf(input: string | null | undefined): ExportCopyState | undefined {
  try {
    const parsed = JSON.parse(input ?? 'null') as unknown;
    if (isExportState(parsed) && typeof parsed.jobId === 'string' && typeof parsed.copy.toKey === 'string') return parsed;
  } catch {
    // not an export's input
  }
  return undefined;
}

const exportDeps = () => ({ jobs: jobRepository(), clock });
export const exportSteps = {
  begin: (jobId: string, phase: string) => beginExport(exportDeps())(jobId, phase),
  stillExporting: (jobId: string) => isStillExporting(exportDeps())(jobId),
  complete: (jobId: string) => completeExport(exportDeps())(jobId),
  fail: (...a: Parameters<ReturnType<typeof failExport>>) => failExport(exportDeps())(...a),
};

/** Removes an export's destination: aborts every upload still open for exactly that key, deletes the object. Idempotent. */
export async function removeExportedObject(key: string): Promise<{ deletedObjects: number; abortedUploads: number }> {
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  let abortedUploads = 0;
  let deletedObjects = 0;
  try {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await s3.send(
        new ListMultipartUploadsCommand({ Bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key !== key) continue; // another object whose key starts with this one
        await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: u.UploadId! }));
        abortedUploads++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: key, MaxKeys: 1 }));
    if (listed.Contents?.[0]?.Key === key) {
      await s3.send(new DeleteObjectCommand({ Bucket, Key: key }));
      deletedObjects = 1;
    }
  } catch (err) {
    throw new TransientStorageError(`removing the export s3://${Bucket}/${key}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return { deletedObjects, abortedUploads };
}
