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
 * - A disk format (`upload.output`: qcow2, vhd; lambdas/pipeline/formats/range-formats.ts): the range
 *   is encoded into its position-independent data part (then gzipped, if asked) and its index is
 *   stored at `images/<id>/.index/<i>` BEFORE the part is uploaded, so a part in the upload always has
 *   its index; AssembleFile reads the indexes and writes the head and tail. If the UploadPart fails
 *   (e.g. NoSuchUpload: Cleanup already aborted the build), the index is deleted again; if it
 *   succeeds, the upload was alive after the index was written, and Cleanup, which aborts uploads
 *   before it lists the prefix's objects, will find and delete it: no index outlives a failed build. When the format has a
 *   tail, every range is followed by another part, so the last one is padded too (inside the format
 *   for `none`, with gzip padding for gzip).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { buildImageFile, gzipPadding, multipartChecksumAlgorithm, type PipelineSink } from '../../pipeline';
import { config, s3Client } from '../../wiring';
import { rangeFormat, type RangeFormat } from '../../pipeline/formats/range-formats';
import { MIN_PART_BYTES, partNumberOf, rangeBounds, formatIndexKey, type RangeResult, type RangeTask } from '../chunked';
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
  const { start, end } = rangeBounds(task.index, rangeBytes, task.size, ranges);
  const format = task.upload.output && task.upload.output.format !== 'raw' ? rangeFormat(task.upload.output, task.size) : undefined;
  // a format's part counts as done only with its index (an UploadPart whose answer was lost had it deleted)
  const indexed = async (): Promise<boolean> =>
    !format ||
    (await s3.send(new HeadObjectCommand({ Bucket, Key: formatIndexKey(task.imageId, task.index) })).then(
      () => true,
      (err) => {
        if ((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404) return false;
        return storage(`HeadObject of range ${task.index}'s index`)(err);
      },
    ));
  if (listed.Parts?.[0]?.PartNumber === PartNumber && (await indexed())) {
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

  const source = object.Body as Readable;
  // S3: every part but the last is ≥ 5 MiB; with a format's tail, the last range's part is not the last
  const followed = task.index < ranges - 1 || (format?.hasTail ?? false);
  let body: Buffer;
  let indexKey: string | undefined;
  if (format) {
    const encoded = await encodeRange(format, task, source, start, end, followed);
    indexKey = formatIndexKey(task.imageId, task.index);
    await s3
      .send(new PutObjectCommand({ Bucket, Key: indexKey, Body: encoded.index }))
      .catch(storage(`PutObject of range ${task.index}'s index`));
    body = encoded.body;
  } else {
    const sink = bufferSink(task.compression === 'none' ? end - start : Math.ceil((end - start) * 1.001) + 64 * 1024);
    await buildImageFile({
      source,
      sourceSize: end - start,
      compression: task.compression,
      sink,
      hash: false,
      onProgress: (done) => reportRangeBytes(task, done),
    });
    body = sink.bytes();
  }
  if (task.compression === 'gzip' && followed && body.length < MIN_PART_BYTES) {
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
    .catch(async (err) => {
      if (indexKey) await s3.send(new DeleteObjectCommand({ Bucket, Key: indexKey })).catch(() => undefined);
      return storage(`UploadPart ${PartNumber}`)(err);
    });
  await reportRangeBytes(task, end - start);
  return { index: task.index, bytes: body.length, skipped: false };
});

/**
 * Range `task.index` in its disk format: the data part (padded inside the format to the minimum part
 * size when another part follows and it is stored as is), gzipped when the target is, and its index.
 */
async function encodeRange(
  format: RangeFormat,
  task: RangeTask,
  source: Readable,
  start: number,
  end: number,
  followed: boolean,
): Promise<{ body: Buffer; index: Buffer }> {
  // progress: source bytes read, at most once a second, never two reports at once
  let read = 0;
  let last = Date.now();
  let pending: Promise<void> | undefined;
  let failure: { error: unknown } | undefined; // a report refused (e.g. the job was cancelled) stops the range
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (failure) throw failure.error;
      read += chunk.length;
      if (!pending && Date.now() - last >= 1000) {
        last = Date.now();
        pending = reportRangeBytes(task, read).then(
          () => {
            pending = undefined;
          },
          (error) => {
            failure = { error };
            pending = undefined;
          },
        );
      }
      yield chunk;
    }
    await pending;
    if (failure) throw failure.error;
  }
  try {
    const { parts, length, index } = await format.encodeRange({
      raw: counted(),
      start,
      end,
      ...(followed && task.compression === 'none' && { padTo: MIN_PART_BYTES }),
    });
    if (task.compression === 'none') return { body: Buffer.concat(parts, length), index };
    const sink = bufferSink(Math.ceil(length * 1.001) + 64 * 1024);
    await buildImageFile({
      source: (async function* () {
        yield* parts;
      })(),
      sourceSize: length,
      compression: 'gzip',
      sink,
      hash: false,
    });
    return { body: sink.bytes(), index };
  } finally {
    source.destroy();
  }
}
