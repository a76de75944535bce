/**
 * Server-side copy of one S3 object of any size. Up to `multipartThreshold` (default 5 GiB, the most
 * CopyObject takes) it is one CopyObject; above, a multipart copy: UploadPartCopy of byte ranges,
 * `concurrency` at a time, then CompleteMultipartUpload. Every copy is pinned to the source's ETag
 * (a source replaced meanwhile fails the copy rather than mixing two versions), and every failure
 * path of a multipart copy waits for the parts in flight and aborts the upload, so no billed,
 * invisible parts remain. See docs/decisions/async-provisioning.md (copies).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

const MiB = 1024 * 1024;
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 * MiB;
const MIN_PART_BYTES = 5 * MiB;
const MAX_PARTS = 10_000;

export interface CopySettings {
  /** Sources larger than this are copied in parts. @default 5 GiB (S3's CopyObject limit) */
  multipartThreshold: number;
  /** Bytes per copied part (≥ 5 MiB; raised to fit 10,000 parts). @default 256 MiB */
  partSize: number;
  /** Parts copied at once. @default 8 */
  concurrency: number;
}

export const DEFAULT_COPY_SETTINGS: CopySettings = { multipartThreshold: MAX_COPY_OBJECT_BYTES, partSize: 256 * MiB, concurrency: 8 };

/** The settings from the environment (`COPY_MULTIPART_THRESHOLD_BYTES`, `COPY_PART_BYTES`), else the defaults. */
export function copySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): CopySettings {
  const positive = (v: string | undefined): number | undefined => (v && Number(v) > 0 ? Math.floor(Number(v)) : undefined);
  return {
    multipartThreshold: Math.min(
      positive(env.COPY_MULTIPART_THRESHOLD_BYTES) ?? DEFAULT_COPY_SETTINGS.multipartThreshold,
      MAX_COPY_OBJECT_BYTES,
    ),
    partSize: positive(env.COPY_PART_BYTES) ?? DEFAULT_COPY_SETTINGS.partSize,
    concurrency: DEFAULT_COPY_SETTINGS.concurrency,
  };
}

export interface ObjectRef {
  bucket: string;
  key: string;
}

const copySource = (from: ObjectRef): string => `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}`;

/** The part size for an object: at least `partSize` and 5 MiB, and large enough for 10,000 parts. */
export const copyPartSize = (size: number, partSize: number): number =>
  Math.max(partSize, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MiB) * MiB);

export async function copyObject(
  s3: S3Client,
  from: ObjectRef,
  to: ObjectRef,
  settings: CopySettings = DEFAULT_COPY_SETTINGS,
): Promise<{ size: number; parts: number }> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: from.bucket, Key: from.key }));
  const size = head.ContentLength ?? 0;
  const CopySource = copySource(from);
  const pin = head.ETag ? { CopySourceIfMatch: head.ETag } : {};
  if (size <= settings.multipartThreshold) {
    await s3.send(new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource, ...pin }));
    return { size, parts: 0 };
  }

  const partSize = copyPartSize(size, settings.partSize);
  const count = Math.ceil(size / partSize);
  const created = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, ...(head.ContentType && { ContentType: head.ContentType }) }),
  );
  const UploadId = created.UploadId!;
  const parts: CompletedPart[] = new Array(count);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < count) {
      const index = next++;
      const first = index * partSize;
      const last = Math.min(size, first + partSize) - 1;
      try {
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: to.bucket,
            Key: to.key,
            UploadId,
            PartNumber: index + 1,
            CopySource,
            CopySourceRange: `bytes=${first}-${last}`,
            ...pin,
          }),
        );
        parts[index] = { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
      } catch (err) {
        failed ??= err;
      }
    }
  };
  // every worker settles before the outcome is decided: no part lands after an abort
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, count) }, worker));
  try {
    if (failed !== undefined) throw failed;
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId })).catch(() => undefined);
    throw err;
  }
  return { size, parts: count };
}
