/**
 * DiskProvisioner on S3: streams an image file from the images bucket into a new raw disk object in
 * the disks bucket (multipart, bounded memory): a raw file as it is (gunzipped when compressed) and
 * checked against its manifest on the way (verify.ts: a mismatch fails the stream before the upload
 * completes, so no disk is made from a corrupted or replaced file); a qcow2, vmdk, vhd or ova file
 * through its reader (lambdas/pipeline/formats), which reads the stored object by ranged GETs.
 */
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError } from '../../core/errors';
import type { ImageFile } from '../../core/image';
import type { DiskProvisioner } from '../../core/ports';
import { verifyingStream } from './verify';
import { DiskFormatError, openDisk } from '../../pipeline/formats';
import { s3RandomAccess } from './random-access';

export class S3DiskProvisioner implements DiskProvisioner {
  constructor(private readonly s3: S3Client, private readonly imagesBucket: string, private readonly disksBucket: string) {}

  async expandImage(file: ImageFile, diskKey: string): Promise<number> {
    const raw = file.format === 'raw' || file.format === 'iso';
    if (!raw && file.compression !== 'none') {
      throw new InvalidParameterError(`the image's ${file.format} file is ${file.compression}-compressed; machines are created from uncompressed ${file.format} files`, [
        { field: 'image', code: 'Invalid', message: 'image file cannot be read' },
      ]);
    }
    let size = 0;
    const body = new PassThrough();
    body.on('data', (chunk: Buffer) => (size += chunk.length));
    const upload = new Upload({ client: this.s3, params: { Bucket: this.disksBucket, Key: diskKey, Body: body }, partSize: 8 * 1024 * 1024, queueSize: 2 });
    let piping: Promise<void>;
    if (raw) {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.imagesBucket, Key: file.key }));
      const source = object.Body as Readable;
      const check = verifyingStream(file, 'the image file');
      piping = file.compression === 'gzip' ? pipeline(source, check, createGunzip(), body) : pipeline(source, check, body);
    } else {
      const reader = await openDisk(file.format, await s3RandomAccess(this.s3, this.imagesBucket, file.key)).catch((err) => {
        throw err instanceof DiskFormatError ? new InvalidParameterError(`the image's file cannot be read: ${err.message}`, [{ field: 'image', code: 'Invalid', message: err.message }]) : err;
      });
      piping = pipeline(Readable.from(reader.stream()), body);
    }
    // if the source fails, the upload must not complete with what it got so far
    await Promise.all([piping.catch(async (err) => {
      await upload.abort().catch(() => undefined);
      throw err;
    }), upload.done()]);
    return size;
  }

  async removeDisk(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.disksBucket, Key: key }));
  }
}
