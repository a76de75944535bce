/** FileUrlSigner on S3: a presigned GET for an image file, with a download file name. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileUrlSigner } from '../../core/ports';

export class S3FileUrlSigner implements FileUrlSigner {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  presignImageFile(key: string, opts: { expiresInSeconds: number; filename: string }): Promise<string> {
    const safeName = opts.filename.replace(/[^A-Za-z0-9._-]/g, '_');
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: `attachment; filename="${safeName}"` }),
      { expiresIn: opts.expiresInSeconds },
    );
  }
}
