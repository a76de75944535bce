/**
 * BuildRange (one iteration of the BuildRanges Map): reads source bytes [i·R, (i+1)·R) with a ranged
 * GET pinned to the source's ETag, compresses them as independent gzip members (the pipeline of
 * lambdas/pipeline/build.ts, without its hashes: the whole file is hashed later) and uploads them as
 * part i + 2 of the build's multipart upload. The output is held in one buffer of about the range's
 * size, so the invocation's memory and time are bounded by the range, never by the disk.
 *
 * - gzip output under 5 MiB (zeros compress ~1000:1) is padded with empty gzip members up to S3's
 *   minimum part size, except in the last range (lambdas/pipeline/gzip-padding.ts).
 * - `none`: the part is the source bytes themselves (ranges are ≥ 5 MiB), so the file is the disk.
 * - Idempotent: when the part is already in the upload (an earlier attempt uploaded it, then failed
 *   to answer), the range is not built again.
 */
import { GetObjectCommand, ListPartsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { buildImageFile, gzipPadding, multipartChecksumAlgorithm, type PipelineSink } from '../../pipeline';
import { config, s3Client } from '../../wiring';
import { MIN_PART_BYTES, partNumberOf, rangeBounds, type RangeResult, type RangeTask } from '../chunked';
import { reportRangeBytes } from '../chunked-progress';
import { SourceUnavailableError, TransientStorageError } from '../errors';
import { classifyS3Error } from '../s3-errors';
import { sourceBucket } from '../source-bucket';
import { workflowTask } from '../attempt';

/** Collects a range's output into one buffer sized for it up front (grown only if gzip expands the data). */
function bufferSink(expected: number): PipelineSink & { bytes(): Buffer } {
  let buf = Buffer.allocUnsafe(expected);
  let length = 0;
  return {
    bytes: () => buf.subarray(0, length),
    async write(chunk) {
      if (length + chunk.length > buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(length + chunk.length, Math.ceil(buf.length * 1.01) + 1024 * 1024));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      chunk.copy(buf, length);
      length += chunk.length;
    },
    async close() {},
    async abort() {
      length = 0;
    },
  };
}

const isPreconditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'PreconditionFailed' ||
  (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;

export const handler = workflowTask('BuildRange', async (task: RangeTask): Promise<RangeResult> => {
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  const { key: Key, uploadId: UploadId, rangeBytes, ranges } = task.upload;
  const PartNumber = partNumberOf(task.index);
  const storage = (what: string) => (err: unknown) => {
    throw new TransientStorageError(`${what} of s3://${Bucket}/${Key}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  };

  const listed = await s3
    .send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: String(PartNumber - 1), MaxParts: 1 }))
    .catch(storage('ListParts'));
  const { start, end } = rangeBounds(task.index, rangeBytes, task.size);
  if (listed.Parts?.[0]?.PartNumber === PartNumber) {
    // counted once whether or not the attempt that uploaded it got to report it (chunked-progress.ts)
    await reportRangeBytes(task, end - start);
    return { index: task.index, bytes: 0, skipped: true };
  }

  const object = await s3
    .send(
      new GetObjectCommand({
        Bucket: sourceBucket(task.source.bucket),
        Key: task.source.key,
        Range: `bytes=${start}-${end - 1}`,
        ...(task.prepared.etag && { IfMatch: task.prepared.etag }),
      }),
    )
    .catch((err) => {
      if (isPreconditionFailed(err)) throw new SourceUnavailableError(`${task.source.label} changed while the image was being built`);
      throw classifyS3Error(err, task.source.label);
    });

  const sink = bufferSink(task.compression === 'none' ? end - start : Math.ceil((end - start) * 1.001) + 64 * 1024);
  await buildImageFile({
    source: object.Body as Readable,
    sourceSize: end - start,
    compression: task.compression,
    sink,
    hash: false,
    onProgress: (done) => reportRangeBytes(task, done),
  });
  let body = sink.bytes();
  if (task.compression === 'gzip' && task.index < ranges - 1 && body.length < MIN_PART_BYTES) {
    body = Buffer.concat([body, gzipPadding(MIN_PART_BYTES - body.length)]);
  }
  const algorithm = await multipartChecksumAlgorithm(s3);
  await s3
    .send(
      new UploadPartCommand({
        Bucket,
        Key,
        UploadId,
        PartNumber,
        Body: body,
        ContentLength: body.length,
        ...(algorithm && { ChecksumAlgorithm: algorithm }),
      }),
    )
    .catch(storage(`UploadPart ${PartNumber}`));
  await reportRangeBytes(task, end - start);
  return { index: task.index, bytes: body.length, skipped: false };
});
