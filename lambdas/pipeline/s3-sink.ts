/**
 * A PipelineSink that stores the output as one S3 object through a multipart upload.
 *
 * Why not `@aws-sdk/lib-storage` Upload: it wants a Body stream (a PassThrough bridge from `write`)
 * and its abort is tied to its own read loop. Here `write` copies into part buffers that are reused
 * once uploaded, parts of exactly `partSize` bytes (the last one shorter) go up `queueSize` at a time
 * with backpressure on `write`, memory is at most (queueSize + 1) part buffers whatever the object
 * size, and every failure path ends in AbortMultipartUpload. Checksums follow lib-storage: with the client's
 * default `requestChecksumCalculation: 'WHEN_SUPPORTED'` the upload is created with CRC32 and the
 * part checksums are passed to CompleteMultipartUpload.
 *
 * With `holdFirstPart`, part 1 is uploaded last (S3 assembles parts by number, not by upload order),
 * which is how writeHead() patches the head of an output already streamed.
 *
 * The multipart upload is created lazily with the first full part; an output smaller than one part
 * is stored with a single PutObject at `close()` (S3 rejects a multipart upload without parts and a
 * non-last part under 5 MiB).
 */
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { PipelineSink } from './sink';

const MiB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_QUEUE_SIZE = 4;

/** Object settings applied to CreateMultipartUpload / PutObject. */
export type S3ObjectParams = Pick<
  CreateMultipartUploadCommandInput,
  | 'ContentType'
  | 'ContentEncoding'
  | 'ContentDisposition'
  | 'Metadata'
  | 'StorageClass'
  | 'ServerSideEncryption'
  | 'SSEKMSKeyId'
  | 'Tagging'
  | 'ChecksumAlgorithm'
>;

export interface S3MultipartSinkOptions {
  client: S3Client;
  bucket: string;
  key: string;
  /** Bytes per part (≥ 5 MiB), default 16 MiB; raised if needed to fit `sizeHint` in 10,000 parts. */
  partSize?: number;
  /** Parts uploading at once, default 4. */
  queueSize?: number;
  /** Upper bound of the output size, if known (e.g. source size + 1 %): sizes parts to fit. */
  sizeHint?: number;
  params?: S3ObjectParams;
  /**
   * Keep part 1 in memory until close(), so writeHead() can still change the output's first bytes
   * (disk formats whose front tables are written last); costs one more part buffer.
   */
  holdFirstPart?: boolean;
  /** Called once the multipart upload exists (e.g. to record the UploadId for a later clean-up). */
  onUploadCreated?: (uploadId: string) => void | Promise<void>;
}

export interface S3SinkResult {
  bucket: string;
  key: string;
  bytes: number;
  etag?: string;
  /** Number of parts, 0 when stored with a single PutObject. */
  parts: number;
  versionId?: string;
}

export interface S3MultipartSink extends PipelineSink {
  readonly uploadId: string | undefined;
  readonly partSize: number;
  /** Set after a successful close(). */
  readonly result: S3SinkResult | undefined;
}

/**
 * The checksum a multipart upload is created with, as lib-storage chooses it: CRC32 when the client
 * computes checksums whenever supported (the SDK's default), none when only where required.
 */
export async function multipartChecksumAlgorithm(client: S3Client): Promise<ChecksumAlgorithm | undefined> {
  const provider = client.config?.requestChecksumCalculation as (() => Promise<string>) | undefined;
  const calc = typeof provider === 'function' ? await provider() : 'WHEN_REQUIRED';
  return calc === 'WHEN_SUPPORTED' ? ChecksumAlgorithm.CRC32 : undefined;
}

export function partSizeFor(partSize: number, sizeHint?: number): number {
  let size = Math.max(partSize, MIN_PART_SIZE);
  if (sizeHint !== undefined && sizeHint > size * MAX_PARTS) size = Math.ceil(sizeHint / MAX_PARTS / MiB) * MiB;
  return size;
}

export function createS3MultipartSink(opts: S3MultipartSinkOptions): S3MultipartSink {
  const { client, bucket: Bucket, key: Key } = opts;
  const partSize = partSizeFor(opts.partSize ?? DEFAULT_PART_SIZE, opts.sizeHint);
  const queueSize = Math.max(1, opts.queueSize ?? DEFAULT_QUEUE_SIZE);
  const controller = new AbortController();

  // the part being filled; finished parts' buffers are reused once their upload settled
  let current: Buffer | undefined;
  let filled = 0;
  let held: Buffer | undefined; // part 1, kept for writeHead (holdFirstPart)
  const pool: Buffer[] = [];
  let bytes = 0;
  let nextPart = 1;
  const parts: CompletedPart[] = [];
  const uploading = new Set<Promise<void>>();
  let error: unknown; // first part/create failure
  let uploadId: string | undefined;
  let created: Promise<string> | undefined;
  let checksumAlgorithm: ChecksumAlgorithm | undefined;
  let state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  let aborting: Promise<void> | undefined;
  let result: S3SinkResult | undefined;
  const send = { abortSignal: controller.signal };

  const algorithm = async (): Promise<ChecksumAlgorithm | undefined> =>
    opts.params?.ChecksumAlgorithm ?? multipartChecksumAlgorithm(client);

  const createUpload = (): Promise<string> => {
    created ??= (async () => {
      checksumAlgorithm = await algorithm();
      const out = await client.send(
        // not cancellable: if S3 created the upload we must learn its UploadId to abort it
        new CreateMultipartUploadCommand({
          ...opts.params,
          Bucket,
          Key,
          ...(checksumAlgorithm && { ChecksumAlgorithm: checksumAlgorithm }),
        }),
      );
      if (!out.UploadId) throw new Error(`CreateMultipartUpload s3://${Bucket}/${Key} returned no UploadId`);
      uploadId = out.UploadId;
      await opts.onUploadCreated?.(uploadId);
      return uploadId;
    })();
    return created;
  };

  const startPart = (buffer: Buffer, length: number, PartNumber = nextPart++): void => {
    const body = buffer.subarray(0, length);
    if (PartNumber > MAX_PARTS)
      throw new Error(`s3://${Bucket}/${Key}: more than ${MAX_PARTS} parts of ${partSize} bytes; pass a larger partSize or sizeHint`);
    const task = (async () => {
      const UploadId = await createUpload();
      const out = await client.send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber,
          Body: body,
          ContentLength: body.length,
          ...(checksumAlgorithm && { ChecksumAlgorithm: checksumAlgorithm }),
        }),
        send,
      );
      if (!out.ETag) throw new Error(`UploadPart ${PartNumber} of s3://${Bucket}/${Key} returned no ETag`);
      parts.push({
        PartNumber,
        ETag: out.ETag,
        ...(out.ChecksumCRC32 && { ChecksumCRC32: out.ChecksumCRC32 }),
        ...(out.ChecksumCRC32C && { ChecksumCRC32C: out.ChecksumCRC32C }),
        ...(out.ChecksumCRC64NVME && { ChecksumCRC64NVME: out.ChecksumCRC64NVME }),
        ...(out.ChecksumSHA1 && { ChecksumSHA1: out.ChecksumSHA1 }),
        ...(out.ChecksumSHA256 && { ChecksumSHA256: out.ChecksumSHA256 }),
      });
    })();
    const tracked = task.then(
      () => {
        uploading.delete(tracked);
        if (buffer.length === partSize && pool.length <= queueSize) pool.push(buffer);
      },
      (err) => {
        uploading.delete(tracked);
        error ??= err;
      },
    );
    uploading.add(tracked);
  };

  const throwIfFailed = (): void => {
    if (error !== undefined) throw error;
  };

  const doAbort = async (): Promise<void> => {
    controller.abort();
    await Promise.allSettled([...uploading, created].filter(Boolean));
    if (created) await created.catch(() => undefined);
    if (uploadId) {
      // not cancellable: this is the clean-up
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }));
    }
  };

  return {
    partSize,
    get uploadId() {
      return uploadId;
    },
    get result() {
      return result;
    },

    async write(chunk: Buffer): Promise<void> {
      if (state !== 'open') throw new Error(`s3 sink: write after ${state}`);
      throwIfFailed();
      let offset = 0;
      while (offset < chunk.length) {
        if (!current) {
          // at most queueSize parts uploading plus the one being filled
          while (uploading.size >= queueSize) await Promise.race(uploading);
          throwIfFailed();
          if (state !== 'open') throw new Error(`s3 sink: write after ${state}`);
          current = pool.pop() ?? Buffer.allocUnsafe(partSize);
          filled = 0;
        }
        const n = chunk.copy(current, filled, offset, Math.min(chunk.length, offset + partSize - filled));
        offset += n;
        filled += n;
        bytes += n;
        if (filled === partSize) {
          if (opts.holdFirstPart && nextPart === 1) {
            held = current;
            nextPart = 2;
          } else startPart(current, filled);
          current = undefined;
        }
      }
    },

    async close(): Promise<void> {
      if (state !== 'open') throw new Error(`s3 sink: close after ${state}`);
      state = 'closing';
      try {
        throwIfFailed();
        if (nextPart === 1) {
          // everything fits in one part: a single PutObject
          const body = current ? current.subarray(0, filled) : Buffer.alloc(0);
          current = undefined;
          const out = await client.send(
            new PutObjectCommand({ ...opts.params, Bucket, Key, Body: body, ContentLength: body.length }),
            send,
          );
          result = { bucket: Bucket, key: Key, bytes, etag: out.ETag, parts: 0, versionId: out.VersionId };
        } else {
          if (current && filled > 0) startPart(current, filled);
          current = undefined;
          if (held) startPart(held, held.length, 1);
          held = undefined;
          while (uploading.size > 0) await Promise.all(uploading);
          throwIfFailed();
          parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
          const out = await client.send(
            new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
            send,
          );
          result = { bucket: Bucket, key: Key, bytes, etag: out.ETag, parts: parts.length, versionId: out.VersionId };
        }
        state = 'closed';
      } catch (err) {
        // never leave parts behind
        state = 'aborted';
        aborting ??= doAbort();
        await aborting.catch(() => undefined);
        throw err;
      }
    },

    async writeHead(head: Buffer): Promise<void> {
      if (state !== 'open') throw new Error(`s3 sink: writeHead after ${state}`);
      const first = held ?? (nextPart === 1 ? current : undefined);
      const available = held ? held.length : nextPart === 1 ? filled : 0;
      if (!first || head.length > available) {
        throw new Error(
          `s3 sink: the head (${head.length} bytes) is not in a part still held (create the sink with holdFirstPart, head ≤ part size)`,
        );
      }
      head.copy(first, 0);
    },

    abort(): Promise<void> {
      if (state === 'closed') return Promise.resolve();
      state = 'aborted';
      current = undefined;
      held = undefined;
      pool.length = 0;
      aborting ??= doAbort();
      return aborting;
    },
  };
}
