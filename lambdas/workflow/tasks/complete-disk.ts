/**
 * CompleteDisk (provisioning in ranges, lambdas/workflow/expansion.ts): completes the disk's multipart
 * upload once every range's part is in it (exactly parts 1 … n), and checks the disk's size. Idempotent:
 * if the upload is already gone because an earlier attempt completed it, the object it became is the
 * result (and is checked the same way).
 */
import { CompleteMultipartUploadCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { config, s3Client } from '../../wiring';
import { TransientStorageError } from '../errors';
import { diskPartNumberOf, type ExpansionState } from '../expansion';
import { listAllParts } from '../multipart-parts';
import { observedTask } from '../../observability/powertools';

export class IncompleteDiskError extends Error {
  override readonly name = 'IncompleteDiskError';
}

const isNoSuchUpload = (err: unknown): boolean => (err as { name?: string })?.name === 'NoSuchUpload';

export const handler = observedTask('CompleteDisk', async (state: ExpansionState): Promise<{ size: number }> => {
  const s3 = s3Client();
  const Bucket = config.disksBucket();
  const { key: Key, uploadId: UploadId, ranges, rawSize } = state.expansion;
  try {
    const parts = await listAllParts(s3, Bucket, Key, UploadId);
    const found = parts.map((p) => p.PartNumber);
    if (found.length !== ranges || found.some((n, i) => n !== diskPartNumberOf(i)))
      throw new IncompleteDiskError(`the disk ${Key}: expected parts 1…${ranges}, found ${found.length} parts`);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
      }),
    );
  } catch (err) {
    if (err instanceof IncompleteDiskError) throw err;
    if (!isNoSuchUpload(err))
      throw new TransientStorageError(`completing the disk ${Key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    // completed by an earlier attempt (or aborted: then HeadObject fails below)
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key })).catch((err) => {
    throw new TransientStorageError(`the disk ${Key} after completion: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  if (head.ContentLength !== rawSize) throw new IncompleteDiskError(`the disk ${Key} has ${head.ContentLength} bytes, not ${rawSize}`);
  return { size: rawSize };
});
