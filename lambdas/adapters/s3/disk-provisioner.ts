/**
 * DiskProvisioner on S3: streams an image file from the images bucket into a new raw disk object in
 * the disks bucket through the pipeline's multipart sink (bounded memory; every failure path aborts
 * the upload): a raw file as it is (gunzipped when compressed), a qcow2, vmdk, vhd or ova file through
 * its reader (lambdas/pipeline/formats), which reads the stored object by ranged GETs.
 *
 * The file is checked against its manifest (verify.ts): a raw file on the way, so a mismatch fails the
 * stream before the upload completes; a formatted file, which its reader reads out of order, in one
 * pass before it is read. Either way no disk is made from a corrupted or replaced file. Errors are
 * classified for the provisioning workflow's Retry/Catch: a missing, corrupt, unreadable or mismatching
 * image file is final, any other storage error transient.
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
import { DiskFormatError, openDisk } from '../../pipeline/formats';
import { SourceFormatError, TransientStorageError } from '../../workflow/errors';
import { classifyS3Error } from '../../workflow/s3-errors';
import { ImageFileCorruptError } from '../../core/errors';
import { s3RandomAccess } from './random-access';
import { verifyingStream, verifyStoredObject } from './verify';

const isZlibError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('Z_');

export class S3DiskProvisioner implements DiskProvisioner {
  constructor(
    private readonly s3: S3Client,
    private readonly imagesBucket: string,
    private readonly disksBucket: string,
  ) {}

  /** The image file as raw disk bytes, checked against its manifest. */
  private async rawBytes(file: ImageFile): Promise<{ bytes: AsyncIterable<Buffer>; source?: Readable }> {
    const label = `the image file ${file.key}`;
    if (file.format === 'raw' || file.format === 'iso') {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.imagesBucket, Key: file.key })).catch((err) => {
        throw classifyS3Error(err, label);
      });
      const source = object.Body as Readable;
      const checked = source.pipe(verifyingStream(file, 'the image file'));
      source.once('error', (err) => checked.destroy(err));
      const bytes = file.compression === 'gzip' ? checked.pipe(createGunzip()) : checked;
      if (bytes !== checked) checked.once('error', (err) => bytes.destroy(err));
      return { bytes: bytes as AsyncIterable<Buffer>, source };
    }
    if (file.compression !== 'none')
      throw new SourceFormatError(
        `${label} is a ${file.compression}-compressed ${file.format} file; machines are made from uncompressed ${file.format} files`,
      );
    await verifyStoredObject(this.s3, this.imagesBucket, file.key, file, 'the image file').catch((err) => {
      throw err instanceof ImageFileCorruptError ? err : classifyS3Error(err, label);
    });
    try {
      const reader = await openDisk(file.format, await s3RandomAccess(this.s3, this.imagesBucket, file.key));
      // the sink copies each piece before the next is asked for: the reader may recycle its buffers
      return { bytes: reader.stream({ retainBytes: 0 }) as AsyncIterable<Buffer> };
    } catch (err) {
      throw err instanceof DiskFormatError ? new SourceFormatError(`${label} cannot be read as ${file.format}: ${err.message}`) : err;
    }
  }

  async expandImage(file: ImageFile, diskKey: string): Promise<number> {
    const { bytes, source } = await this.rawBytes(file);
    const sink = createS3MultipartSink({ client: this.s3, bucket: this.disksBucket, key: diskKey, queueSize: 4 });
    let size = 0;
    try {
      for await (const chunk of bytes) {
        size += chunk.length;
        await sink.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      }
      await sink.close();
      return size;
    } catch (err) {
      source?.destroy();
      await sink.abort(err).catch(() => undefined);
      if (isZlibError(err)) throw new SourceFormatError(`the image file ${file.key} is not a valid gzip file: ${(err as Error).message}`);
      if (err instanceof DiskFormatError)
        throw new SourceFormatError(`the image file ${file.key} cannot be read as ${file.format}: ${err.message}`);
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
      const page = await this.s3.send(
        new ListMultipartUploadsCommand({ Bucket: this.disksBucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key === key)
          await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.disksBucket, Key: key, UploadId: u.UploadId! }));
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.disksBucket, Key: key }));
  }
}
