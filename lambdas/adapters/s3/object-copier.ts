/**
 * ObjectCopier on S3: a server-side copy inside the images bucket (image file → the caller's bucket
 * area), of any size (copy-object.ts: CopyObject, or a multipart copy above the threshold).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectCopier } from '../../core/ports';
import { copyObject, DEFAULT_COPY_SETTINGS, type CopySettings } from './copy-object';

export class S3ObjectCopier implements ObjectCopier {
  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly copy: CopySettings = DEFAULT_COPY_SETTINGS) {}

  async copyImageObject(fromKey: string, toKey: string): Promise<void> {
    await copyObject(this.s3, { bucket: this.bucket, key: fromKey }, { bucket: this.bucket, key: toKey }, this.copy);
  }
}
