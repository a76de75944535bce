/**
 * DiskProvisioner on S3: streams an image file from the images bucket, gunzipped when compressed,
 * into a new disk object in the disks bucket through the pipeline's multipart sink (bounded memory;
 * every failure path aborts the upload). The file is checked against its manifest on the way
 * (verify.ts): a mismatch fails the stream before the upload completes, so no disk is made from a
 * corrupted or replaced file. Errors are classified for the provisioning workflow's Retry/Catch: a
 * missing, corrupt or mismatching image file is final, any other storage error transient.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ImageFile } from '../../core/image';
import type { DiskProvisioner } from '../../core/ports';
import { createS3MultipartSink } from '../../pipeline';
import { SourceFormatError, TransientStorageError } from '../../workflow/errors';
import { classifyS3Error } from '../../workflow/s3-errors';
import { ImageFileCorruptError } from '../../core/errors';
import { verifyingStream } from './verify';

const isZlibError = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('Z_');

export class S3DiskProvisioner implements DiskProvisioner {
  constructor(private readonly s3: S3Client, private readonly imagesBucket: string, private readonly disksBucket: string) {}

  async expandImage(file: ImageFile, diskKey: string): Promise<number> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.imagesBucket, Key: file.key })).catch((err) => {
      throw classifyS3Error(err, `the image file ${file.key}`);
    });
    const source = object.Body as Readable;
    const sink = createS3MultipartSink({ client: this.s3, bucket: this.disksBucket, key: diskKey, queueSize: 4 });
    let size = 0;
    try {
      const checked = source.pipe(verifyingStream(file, 'the image file'));
      source.once('error', (err) => checked.destroy(err));
      const bytes = file.compression === 'gzip' ? checked.pipe(createGunzip()) : checked;
      if (bytes !== checked) checked.once('error', (err) => bytes.destroy(err));
      for await (const chunk of bytes as AsyncIterable<Buffer>) {
        size += chunk.length;
        await sink.write(chunk);
      }
      await sink.close();
      return size;
    } catch (err) {
      source.destroy();
      await sink.abort(err).catch(() => undefined);
      if (isZlibError(err)) throw new SourceFormatError(`the image file ${file.key} is not a valid gzip file: ${(err as Error).message}`);
      if (err instanceof ImageFileCorruptError) throw err; // final: not in the Retry's error list
      if (err instanceof Error && (err.name === 'SourceUnavailableError' || err.name === 'SourceFormatError')) throw err;
      throw new TransientStorageError(`writing the disk ${diskKey}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Aborts any upload still open for the disk, then deletes the disk object; idempotent. */
  async removeDisk(key: string): Promise<void> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.disksBucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of page.Uploads ?? []) {
        if (u.Key === key) await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.disksBucket, Key: key, UploadId: u.UploadId! }));
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.disksBucket, Key: key }));
  }
}
