/**
 * AssembleFile (chunked builds): completes the multipart upload once every range's part is in it,
 * making the image file one object. It checks that exactly the parts of the plan are there (part
 * i + 2 for range i) before completing. Idempotent: if the upload is already gone because an earlier
 * attempt completed it, the object it became is the result.
 *
 * A disk format (`chunked.output`: qcow2, vhd; lambdas/pipeline/formats/range-formats.ts): it reads
 * every range's index (`images/<id>/.index/<i>`, written by BuildRange), has the format write the head
 * and tail, and uploads them as part 1 (at least 5 MiB: padded inside the format, or with gzip padding
 * after its gzip member) and part n + 2 before CompleteMultipartUpload; with gzip each is its own gzip
 * member, so the file still gunzips to the format's bytes. Once the file is complete the indexes are
 * deleted. A retry uploads the same head and tail again (UploadPart replaces a part).
 */
import {
  CompleteMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type Part,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DEFAULT_GZIP_LEVEL, gzipPadding, multipartChecksumAlgorithm } from '../../pipeline';
import { DiskFormatError } from '../../pipeline/formats';
import { rangeFormat } from '../../pipeline/formats/range-formats';
import { gzipMember } from '../../pipeline/members';
import { config, s3Client } from '../../wiring';
import { MIN_PART_BYTES, partNumberOf, formatIndexKey, type AssembledFile, type ChunkedUpload } from '../chunked';
import { steps } from '../deps';
import { TransientStorageError } from '../errors';
import { completedParts, listAllParts } from '../multipart-parts';
import { rangeIndexFromParts, writeRangeIndex, type RangeIndexRef } from '../range-index';
import type { BuildState } from '../state';
import { workflowTask } from '../attempt';

export class IncompleteUploadError extends Error {
  override readonly name = 'IncompleteUploadError';
}

const isNoSuchUpload = (err: unknown): boolean => (err as { name?: string })?.name === 'NoSuchUpload';

export const handler = workflowTask('AssembleFile', async (state: BuildState & { chunked: ChunkedUpload }): Promise<AssembledFile> => {
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  const { key: Key, uploadId: UploadId, ranges } = state.chunked;
  const size = state.prepared?.size ?? state.source.size;
  const output = state.chunked.output;
  const format = output && output.format !== 'raw' ? rangeFormat(output, size) : undefined;
  // raw ranges only: a format's file is read through its tables, not by disk ranges
  const rangeIndex: RangeIndexRef | undefined = format ? undefined : { ranges, rangeBytes: state.chunked.rangeBytes, rawSize: size };
  const listParts = (): Promise<Part[]> => listAllParts(s3, Bucket, Key, UploadId);
  try {
    let parts = await listParts();
    const expected = Array.from({ length: ranges }, (_, i) => partNumberOf(i));
    if (format) {
      const dataParts = parts.filter((p) => p.PartNumber! >= partNumberOf(0) && p.PartNumber! <= partNumberOf(ranges - 1));
      if (dataParts.length !== ranges)
        throw new IncompleteUploadError(`s3://${Bucket}/${Key}: expected ${ranges} range parts, found ${dataParts.length}`);
      const indexes = await readIndexes(s3, Bucket, state.imageId, ranges);
      const tables = format.assemble(indexes, { minHeadBytes: state.target.compression === 'none' ? MIN_PART_BYTES : 0 });
      let { head, tail } = tables;
      if (state.target.compression === 'gzip') {
        if (head.length > 0) head = await gzipMember(head, DEFAULT_GZIP_LEVEL);
        if (head.length > 0 && head.length < MIN_PART_BYTES) head = Buffer.concat([head, gzipPadding(MIN_PART_BYTES - head.length)]);
        if (tail.length > 0) tail = await gzipMember(tail, DEFAULT_GZIP_LEVEL);
      }
      const algorithm = await multipartChecksumAlgorithm(s3);
      const upload = (PartNumber: number, Body: Buffer) =>
        s3.send(
          new UploadPartCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber,
            Body,
            ContentLength: Body.length,
            ...(algorithm && { ChecksumAlgorithm: algorithm }),
          }),
        );
      if (head.length > 0) {
        await upload(1, head);
        expected.unshift(1);
      }
      if (tail.length > 0) {
        await upload(partNumberOf(ranges), tail);
        expected.push(partNumberOf(ranges));
      }
      parts = await listParts();
    }
    const found = parts.map((p) => p.PartNumber);
    if (found.length !== expected.length || found.some((n, i) => n !== expected[i])) {
      throw new IncompleteUploadError(
        `s3://${Bucket}/${Key}: expected parts ${expected[0]}…${expected[expected.length - 1]}, found ${found.length} parts`,
      );
    }
    // the range index (range-index.ts) goes in before completion: a retry after it finds no parts to list
    if (rangeIndex) await writeRangeIndex(s3, Bucket, Key, rangeIndexFromParts(parts, rangeIndex));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: completedParts(parts) } }));
    if (format) await deleteIndexes(s3, Bucket, state.imageId, ranges);
  } catch (err) {
    if (err instanceof IncompleteUploadError || err instanceof DiskFormatError) throw err;
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

/** Every range's index, in range order (16 GETs at a time). */
async function readIndexes(s3: S3Client, Bucket: string, imageId: string, ranges: number): Promise<Buffer[]> {
  const indexes = new Array<Buffer>(ranges);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ranges) {
      const i = next++;
      const object = await s3.send(new GetObjectCommand({ Bucket, Key: formatIndexKey(imageId, i) })).catch((err) => {
        if ((err as { name?: string })?.name === 'NoSuchKey')
          throw new IncompleteUploadError(`range ${i} of image ${imageId} has no index`);
        throw err;
      });
      indexes[i] = Buffer.from(await object.Body!.transformToByteArray());
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, ranges) }, worker));
  return indexes;
}

/** The indexes, once the file is complete (an earlier attempt may have deleted some: Quiet ignores them). */
async function deleteIndexes(s3: S3Client, Bucket: string, imageId: string, ranges: number): Promise<void> {
  for (let first = 0; first < ranges; first += 1000) {
    const Objects = Array.from({ length: Math.min(1000, ranges - first) }, (_, k) => ({ Key: formatIndexKey(imageId, first + k) }));
    await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
  }
}
