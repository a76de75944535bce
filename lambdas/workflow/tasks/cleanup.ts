/**
 * Cleanup (the Catch path): aborts every open multipart upload and deletes every object under the
 * image's prefix, so a failed build leaves nothing behind. Idempotent; safe to retry. A failed export
 * (lambdas/workflow/copy.ts) removes its one destination object instead: the image is not its own.
 */
import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { config, s3Client } from '../../wiring';
import { isExportState, removeExportedObject, type CopyState } from '../copy';
import { TransientStorageError } from '../errors';
import { imageFilePrefix, type BuildState, type CleanupResult } from '../state';
import { workflowTask } from '../attempt';

export async function removeImageObjects(imageId: string): Promise<CleanupResult> {
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  const Prefix = imageFilePrefix(imageId);
  let abortedUploads = 0;
  let deletedObjects = 0;
  try {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of page.Uploads ?? []) {
        await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key!, UploadId: u.UploadId! }));
        abortedUploads++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);

    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken: token }));
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length) {
        await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects, Quiet: true } }));
        deletedObjects += objects.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw new TransientStorageError(`cleaning up ${Prefix}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { deletedObjects, abortedUploads };
}

export const handler = workflowTask(
  'Cleanup',
  async (state: BuildState | CopyState): Promise<CleanupResult> =>
    isExportState(state) ? removeExportedObject(state.copy.toKey) : removeImageObjects((state as BuildState).imageId),
);
