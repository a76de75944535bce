/**
 * A stored S3 object as a RandomAccessSource for the disk-format readers (lambdas/pipeline/formats):
 * each read is one ranged GetObject pinned to the object's ETag (If-Match), so a file replaced while
 * it is read fails instead of mixing two versions. The readers wrap it in cachedSource, which turns
 * their small table and grain reads into one GET per 8 MiB window.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RandomAccessSource } from '../../pipeline/formats';

export async function s3RandomAccess(s3: S3Client, bucket: string, key: string): Promise<RandomAccessSource> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const size = head.ContentLength ?? 0;
  const etag = head.ETag;
  return {
    size,
    async read(offset: number, length: number): Promise<Buffer> {
      if (offset < 0 || length < 0 || offset + length > size)
        throw new RangeError(`read of ${length} bytes at ${offset} is outside s3://${bucket}/${key} (${size} bytes)`);
      if (length === 0) return Buffer.alloc(0);
      const out = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}`, ...(etag && { IfMatch: etag }) }),
      );
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      if (bytes.length !== length)
        throw new Error(`ranged GET of s3://${bucket}/${key} returned ${bytes.length} bytes, expected ${length}`);
      return bytes;
    },
  };
}
