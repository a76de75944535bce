/**
 * Integrity of stored image files: every read that passes a file on (provisioning a disk, cloning,
 * exporting) checks the bytes against the manifest's size, sha1 and sha256, and a mismatch is an
 * ImageFileCorruptError — the copy or disk made from it is removed by the caller, never handed on.
 */
import { createHash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ImageFileCorruptError } from '../../core/errors';
import type { ImageFile } from '../../core/image';

type Expected = Pick<ImageFile, 'size' | 'sha1' | 'sha256'>;

/** A pass-through that fails (instead of ending) when the bytes differ from `expected`. */
export function verifyingStream(expected: Expected, label: string): Transform {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      size += chunk.length;
      if (size > expected.size) return cb(new ImageFileCorruptError(`${label} is larger than its manifest's ${expected.size} bytes`));
      sha1.update(chunk);
      sha256.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (size !== expected.size) return cb(new ImageFileCorruptError(`${label} has ${size} bytes, its manifest ${expected.size}`));
      const [s1, s256] = [sha1.digest('hex'), sha256.digest('hex')];
      if (s1 !== expected.sha1 || s256 !== expected.sha256)
        return cb(new ImageFileCorruptError(`${label} does not match its manifest's checksums`));
      cb();
    },
  });
}

/** Reads the object through and checks it; resolves when it matches. */
export async function verifyStoredObject(s3: S3Client, bucket: string, key: string, expected: Expected, label: string): Promise<void> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(out.Body as Readable, verifyingStream(expected, label), new Writable({ write: (_chunk, _enc, cb) => cb() }));
}
