/**
 * DiskProvisioner on S3: streams an image file from the images bucket, gunzipped when compressed,
 * into a new disk object in the disks bucket (multipart, bounded memory). The file is checked against
 * its manifest on the way (verify.ts): a mismatch fails the stream before the upload completes, so the
 * upload is aborted and no disk is made from a corrupted or replaced file.
 */
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ImageFile } from '../../core/image';
import type { DiskProvisioner } from '../../core/ports';
import { verifyingStream } from './verify';

export class S3DiskProvisioner implements DiskProvisioner {
  constructor(private readonly s3: S3Client, private readonly imagesBucket: string, private readonly disksBucket: string) {}

  async expandImage(file: ImageFile, diskKey: string): Promise<number> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.imagesBucket, Key: file.key }));
    let size = 0;
    const body = new PassThrough();
    body.on('data', (chunk: Buffer) => (size += chunk.length));
    const upload = new Upload({ client: this.s3, params: { Bucket: this.disksBucket, Key: diskKey, Body: body }, partSize: 8 * 1024 * 1024, queueSize: 2 });
    const source = object.Body as Readable;
    const check = verifyingStream(file, 'the image file');
    const piping = file.compression === 'gzip' ? pipeline(source, check, createGunzip(), body) : pipeline(source, check, body);
    await Promise.all([piping, upload.done()]);
    return size;
  }

  async removeDisk(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.disksBucket, Key: key }));
  }
}
