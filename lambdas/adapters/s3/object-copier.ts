/**
 * ObjectCopier on S3: a server-side CopyObject inside the images bucket (image file → the caller's
 * bucket area), then the copy is read back and checked against the manifest (verify.ts); a copy that
 * does not match is deleted. CopyObject takes objects up to 5 GiB; larger files need a multipart copy
 * (UploadPartCopy), which the local S3 lacks so far: that arrives with the formats issue's export.
 */
import { CopyObjectCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ImageFile } from '../../core/image';
import type { ObjectCopier } from '../../core/ports';
import { verifyStoredObject } from './verify';

export class S3ObjectCopier implements ObjectCopier {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  async copyImageFile(file: ImageFile, toKey: string): Promise<void> {
    const source = `${this.bucket}/${file.key.split('/').map(encodeURIComponent).join('/')}`;
    await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: source }));
    try {
      await verifyStoredObject(this.s3, this.bucket, toKey, file, 'the image file');
    } catch (err) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: toKey })).catch(() => undefined);
      throw err;
    }
  }
}
