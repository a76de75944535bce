/**
 * ObjectCopier on S3: a server-side CopyObject inside the images bucket (image file → the caller's
 * bucket area). CopyObject takes objects up to 5 GiB; larger files need a multipart copy
 * (UploadPartCopy), which the local S3 lacks so far: that arrives with the formats issue's export.
 */
import { CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectCopier } from '../../core/ports';

export class S3ObjectCopier implements ObjectCopier {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  async copyImageObject(fromKey: string, toKey: string): Promise<void> {
    const source = `${this.bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`;
    await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: source }));
  }
}
