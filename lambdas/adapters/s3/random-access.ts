/**
 * A stored S3 object as a RandomAccessSource for the disk-format readers (lambdas/pipeline/formats):
 * each read is one ranged GetObject pinned to the object's ETag (If-Match), so a file replaced while
 * it is read fails instead of mixing two versions. The readers wrap it in cachedSource, which turns
 * their small table and grain reads into one GET per 8 MiB window. `readInto` copies the response
 * body straight into the caller's buffer (one copy, no fresh buffer per read), so a raw or fixed-vhd
 * disk is read sequentially into recycled buffers (formats/stage.ts, sequentialReads).
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { RandomAccessSource } from '../../pipeline/formats';

export async function s3RandomAccess(
  s3: S3Client,
  bucket: string,
  key: string,
  /** The version to read, already known (its size and ETag from an earlier HeadObject): no HeadObject then. */
  pinned?: { size: number; etag: string },
): Promise<RandomAccessSource> {
  const head = pinned ? undefined : await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const size = pinned ? pinned.size : (head!.ContentLength ?? 0);
  const etag = pinned ? pinned.etag : head!.ETag;
  const check = (offset: number, length: number): void => {
    if (offset < 0 || length < 0 || offset + length > size)
      throw new RangeError(`read of ${length} bytes at ${offset} is outside s3://${bucket}/${key} (${size} bytes)`);
  };
  const readInto = async (into: Buffer, offset: number, length: number): Promise<void> => {
    check(offset, length);
    if (length > into.length) throw new RangeError(`read of ${length} bytes into a buffer of ${into.length}`);
    if (length === 0) return;
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}`, ...(etag && { IfMatch: etag }) }),
    );
    const body = out.Body as Readable;
    let filled = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (filled + chunk.length > length) throw new Error(`ranged GET of s3://${bucket}/${key} returned more than ${length} bytes`);
        filled += chunk.copy(into, filled);
      }
    } catch (err) {
      body.destroy();
      throw err;
    }
    if (filled !== length) throw new Error(`ranged GET of s3://${bucket}/${key} returned ${filled} bytes, expected ${length}`);
  };
  return {
    size,
    readInto,
    async read(offset: number, length: number): Promise<Buffer> {
      check(offset, length);
      const bytes = Buffer.allocUnsafe(length);
      await readInto(bytes, offset, length);
      return bytes;
    },
  };
}
