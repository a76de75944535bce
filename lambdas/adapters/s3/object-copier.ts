/**
 * ObjectCopier on S3: a server-side copy inside the images bucket (image file → the caller's bucket
 * area), of any size (copy-object.ts: CopyObject, or a multipart copy above the threshold); then the
 * copy is read back and checked against the manifest (verify.ts), and a copy that does not match is
 * deleted.
 */
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ImageFile } from '../../core/image';
import type { ObjectCopier } from '../../core/ports';
import { verifyStoredObject } from './verify';
import { copyObject, DEFAULT_COPY_SETTINGS, type CopySettings } from './copy-object';

export class S3ObjectCopier implements ObjectCopier {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly copy: CopySettings = DEFAULT_COPY_SETTINGS,
  ) {}

  async copyImageFile(file: ImageFile, toKey: string): Promise<void> {
    await copyObject(this.s3, { bucket: this.bucket, key: file.key }, { bucket: this.bucket, key: toKey }, this.copy);
    try {
      await verifyStoredObject(this.s3, this.bucket, toKey, file, 'the image file');
    } catch (err) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: toKey })).catch(() => undefined);
      throw err;
    }
  }
}
