/**
 * ImageFileStore on S3, all in the images bucket: image files live under `images/<id>/` (one prefix
 * per image, see workflow/state.ts), exports under `exports/<accountId>/<path>`. Copies are
 * server-side, of any size (copy-object.ts: CopyObject, or a multipart copy above the threshold),
 * then read back and checked against the manifest.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ImageFile } from '../../core/image';
import { keyUnder } from '../../core/object-key';
import { verifyStoredObject } from './verify';
import { copyObject, DEFAULT_COPY_SETTINGS, type CopySettings } from './copy-object';
import type { ImageFileStore } from '../../core/ports';
import { imageFilePrefix } from '../../workflow/state';
import { rangeIndexKey } from '../../workflow/range-index';

/** An export's key: always under the account's own `exports/<accountId>/` (the path is checked by segment). */
export const exportKey = (accountId: string, path: string): string =>
  keyUnder(`exports/${accountId}/`, path.replace(/^\/+/, ''), 'manta_path');

export class S3ImageFileStore implements ImageFileStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly copy: CopySettings = DEFAULT_COPY_SETTINGS,
  ) {}

  async copyFile(file: ImageFile, toImageId: string): Promise<ImageFile> {
    const name = file.key.slice(file.key.lastIndexOf('/') + 1);
    const key = `${imageFilePrefix(toImageId)}${name}`;
    await copyObject(this.s3, { bucket: this.bucket, key: file.key }, { bucket: this.bucket, key }, this.copy);
    // the caller (clone) removes the copy's prefix when this throws
    await verifyStoredObject(this.s3, this.bucket, key, file, 'the image file');
    // the range index travels with the file (it locates bytes of the file, the same in the copy)
    if (file.rangeIndex)
      await copyObject(this.s3, { bucket: this.bucket, key: rangeIndexKey(file.key) }, { bucket: this.bucket, key: rangeIndexKey(key) });
    return { ...file, key };
  }

  async removeFiles(imageId: string): Promise<void> {
    const Prefix = imageFilePrefix(imageId);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.s3.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? [])
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key!, UploadId: u.UploadId! }));
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token }));
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length) await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async exportFile(
    file: ImageFile,
    target: { accountId: string; imagePath: string; manifestPath: string; manifest: unknown; expiresInSeconds: number },
  ): Promise<{ location: string; downloadUrl: string }> {
    const imageKey = exportKey(target.accountId, target.imagePath);
    await copyObject(this.s3, { bucket: this.bucket, key: file.key }, { bucket: this.bucket, key: imageKey }, this.copy);
    try {
      await verifyStoredObject(this.s3, this.bucket, imageKey, file, 'the image file');
    } catch (err) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: imageKey })).catch(() => undefined);
      throw err;
    }
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: exportKey(target.accountId, target.manifestPath),
        Body: JSON.stringify(target.manifest, null, 2),
        ContentType: 'application/json',
      }),
    );
    const downloadUrl = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: imageKey }), {
      expiresIn: target.expiresInSeconds,
    });
    return { location: `s3://${this.bucket}/exports/${target.accountId}`, downloadUrl };
  }
}
