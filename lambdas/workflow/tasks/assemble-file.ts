/**
 * AssembleFile (chunked builds): completes the multipart upload once every range's part is in it,
 * making the image file one object. It checks that exactly the parts of the plan are there (part
 * i + 2 for range i) before completing. Idempotent: if the upload is already gone because an earlier
 * attempt completed it, the object it became is the result.
 */
import { CompleteMultipartUploadCommand, HeadObjectCommand, ListPartsCommand, type CompletedPart, type Part } from '@aws-sdk/client-s3';
import { config, s3Client } from '../../wiring';
import { partNumberOf, type AssembledFile, type ChunkedUpload } from '../chunked';
import { steps } from '../deps';
import { TransientStorageError } from '../errors';
import { rangeIndexFromParts, writeRangeIndex, type RangeIndexRef } from '../range-index';
import type { BuildState } from '../state';
import { observedTask } from '../../observability/powertools';

export class IncompleteUploadError extends Error {
  override readonly name = 'IncompleteUploadError';
}

const isNoSuchUpload = (err: unknown): boolean => (err as { name?: string })?.name === 'NoSuchUpload';

export const handler = observedTask('AssembleFile', async (state: BuildState & { chunked: ChunkedUpload }): Promise<AssembledFile> => {
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  const { key: Key, uploadId: UploadId, ranges } = state.chunked;
  // raw ranges only: a format's head and tail parts are not disk ranges
  const rangeIndex: RangeIndexRef | undefined =
    (state.target.output?.format ?? 'raw') === 'raw'
      ? { ranges, rangeBytes: state.chunked.rangeBytes, rawSize: state.prepared?.size ?? state.source.size }
      : undefined;
  try {
    const parts: Part[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: marker }));
      parts.push(...(page.Parts ?? []));
      if (!page.IsTruncated) break;
      marker = page.NextPartNumberMarker;
    }
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const expected = Array.from({ length: ranges }, (_, i) => partNumberOf(i));
    const found = parts.map((p) => p.PartNumber);
    if (found.length !== expected.length || found.some((n, i) => n !== expected[i])) {
      throw new IncompleteUploadError(
        `s3://${Bucket}/${Key}: expected parts ${expected[0]}…${expected[expected.length - 1]}, found ${found.length} parts`,
      );
    }
    // the range index (range-index.ts) goes in before completion: a retry after it finds no parts to list
    if (rangeIndex) await writeRangeIndex(s3, Bucket, Key, rangeIndexFromParts(parts, rangeIndex));
    const completed: CompletedPart[] = parts.map((p) => ({
      PartNumber: p.PartNumber,
      ETag: p.ETag,
      ...(p.ChecksumCRC32 && { ChecksumCRC32: p.ChecksumCRC32 }),
      ...(p.ChecksumCRC32C && { ChecksumCRC32C: p.ChecksumCRC32C }),
      ...(p.ChecksumSHA1 && { ChecksumSHA1: p.ChecksumSHA1 }),
      ...(p.ChecksumSHA256 && { ChecksumSHA256: p.ChecksumSHA256 }),
    }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: completed } }));
  } catch (err) {
    if (err instanceof IncompleteUploadError) throw err;
    if (!isNoSuchUpload(err))
      throw new TransientStorageError(`assembling s3://${Bucket}/${Key}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    // completed by an earlier attempt (or aborted: then HeadObject fails below)
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key })).catch((err) => {
    throw new TransientStorageError(`s3://${Bucket}/${Key} after assembly: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  await steps.progress(state.jobId, 80, 'HashFile');
  return { size: head.ContentLength ?? 0, etag: head.ETag ?? '', parts: ranges, ...(rangeIndex && { rangeIndex }) };
});
