/**
 * The range index of an image file built in ranges (docs/decisions/async-provisioning.md, "Expansion in
 * ranges"): where each build range's bytes sit in the file, so a later reader can seek to any range
 * without reading what precedes it. A chunked build writes range i of the disk (raw bytes
 * [i·R, min((i+1)·R, rawSize))) as part i + 2 of one upload, gzip-compressed as independent members or
 * stored as is; the parts' sizes are the ranges' lengths in the file. AssembleFile records them, with
 * each part's MD5 (its ETag under SSE-S3, the images bucket's encryption), before it completes the upload.
 *
 * The index is an object beside the file (`<file key>.ranges.json`, under the image's prefix, so
 * Cleanup and image deletion remove it with the file; a clone copies it). It can be large (2,000 ranges
 * ≈ 90 KB), so neither the image item nor a workflow state carries it: the file's manifest holds only
 * `rangeIndex` ({ ranges, rangeBytes, rawSize }), and each reader GETs the index.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ImageFile } from '../core/image';
import { ImageFileCorruptError } from '../core/errors';
import { isNotFound } from './s3-errors';

/** What the file's manifest records about its index (ImageFile.rangeIndex). */
export type RangeIndexRef = NonNullable<ImageFile['rangeIndex']>;

/** The index document. */
export interface RangeIndex extends RangeIndexRef {
  version: 1;
  /** Bytes of the file: the sum of `lengths`. */
  fileSize: number;
  /** Bytes of range i in the file (compressed size for gzip). */
  lengths: number[];
  /** MD5 (hex) of range i's bytes in the file, or null when the part's ETag was not an MD5. */
  md5: (string | null)[];
}

export const rangeIndexKey = (fileKey: string): string => `${fileKey}.ranges.json`;

const MD5_ETAG = /^"?([0-9a-f]{32})"?$/;

/** The index from the parts of a chunked build's upload, in range order (part i + 2 = range i). */
export function rangeIndexFromParts(parts: { Size?: number; ETag?: string }[], ref: RangeIndexRef): RangeIndex {
  const lengths = parts.map((p) => p.Size ?? 0);
  return {
    version: 1,
    ...ref,
    fileSize: lengths.reduce((a, b) => a + b, 0),
    lengths,
    md5: parts.map((p) => MD5_ETAG.exec(p.ETag ?? '')?.[1] ?? null),
  };
}

export async function writeRangeIndex(s3: S3Client, bucket: string, fileKey: string, index: RangeIndex): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: rangeIndexKey(fileKey), Body: JSON.stringify(index), ContentType: 'application/json' }),
  );
}

/** Range i's place in the file and on the disk. */
export interface RangeLocation {
  index: number;
  /** Bytes [fileStart, fileStart + fileLength) of the file. */
  fileStart: number;
  fileLength: number;
  md5: string | null;
  /** Bytes [rawStart, rawStart + rawLength) of the disk. */
  rawStart: number;
  rawLength: number;
}

export function locateRange(index: RangeIndex, i: number): RangeLocation {
  let fileStart = 0;
  for (let k = 0; k < i; k++) fileStart += index.lengths[k]!;
  const rawStart = i * index.rangeBytes;
  return {
    index: i,
    fileStart,
    fileLength: index.lengths[i]!,
    md5: index.md5[i] ?? null,
    rawStart,
    rawLength: Math.min(index.rawSize, rawStart + index.rangeBytes) - rawStart,
  };
}

/**
 * Reads the file's index and checks it against the manifest (and itself): a missing or inconsistent
 * index is an ImageFileCorruptError, never a guess.
 */
export async function readRangeIndex(
  s3: S3Client,
  bucket: string,
  file: Pick<ImageFile, 'key' | 'size' | 'rangeIndex'>,
): Promise<RangeIndex> {
  const ref = file.rangeIndex;
  const label = `the range index of ${file.key}`;
  if (!ref) throw new ImageFileCorruptError(`${file.key} has no range index`);
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: rangeIndexKey(file.key) })).catch((err) => {
    if (isNotFound(err)) throw new ImageFileCorruptError(`${label} is missing`);
    throw err;
  });
  const text = await out.Body!.transformToString();
  let index: RangeIndex;
  try {
    index = JSON.parse(text) as RangeIndex;
  } catch {
    throw new ImageFileCorruptError(`${label} is not JSON`);
  }
  const consistent =
    index?.version === 1 &&
    Array.isArray(index.lengths) &&
    Array.isArray(index.md5) &&
    index.ranges === ref.ranges &&
    index.rangeBytes === ref.rangeBytes &&
    index.rawSize === ref.rawSize &&
    index.lengths.length === ref.ranges &&
    index.md5.length === ref.ranges &&
    index.fileSize === file.size &&
    index.lengths.every((n) => Number.isSafeInteger(n) && n >= 0) &&
    index.lengths.reduce((a, b) => a + b, 0) === file.size &&
    Math.ceil(ref.rawSize / ref.rangeBytes) === ref.ranges;
  if (!consistent) throw new ImageFileCorruptError(`${label} does not match the file's manifest`);
  return index;
}
