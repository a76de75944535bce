/**
 * ImageFileConverter on S3: reads a stored image file as a raw disk (a raw file as it is, gunzipped
 * when compressed; a qcow2, vmdk, vhd or ova file through its reader by ranged GETs) and writes it in
 * the requested disk format to another key of the images bucket, through the same pipeline as builds
 * (bounded memory, multipart upload aborted on any failure).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError } from '../../core/errors';
import type { ImageFile, TargetDiskFormat } from '../../core/image';
import type { ImageFileConverter } from '../../core/ports';
import { buildImageFile } from '../../pipeline/build';
import { DiskFormatError, fileInfo, openDisk, writerRetainBytes } from '../../pipeline/formats';
import { createS3MultipartSink } from '../../pipeline/s3-sink';
import { s3RandomAccess } from './random-access';
import { verifyStoredObject } from './verify';

export class S3ImageFileConverter implements ImageFileConverter {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  private async gunzipped(key: string): Promise<Readable> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (object.Body as Readable).pipe(createGunzip());
  }

  /** The stored file as a raw disk and its size. */
  private async rawDisk(file: ImageFile, output: TargetDiskFormat): Promise<{ source: AsyncIterable<Uint8Array>; size: number }> {
    if (file.format === 'raw' || file.format === 'iso') {
      if (file.compression === 'none') {
        const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: file.key }));
        return { source: object.Body as Readable, size: object.ContentLength ?? file.size };
      }
      let size = file.virtualSize;
      if (size === undefined) {
        // files built before the disk size was recorded: one pass to count it
        size = 0;
        for await (const piece of await this.gunzipped(file.key)) size += (piece as Buffer).length;
      }
      return { source: await this.gunzipped(file.key), size };
    }
    if (file.compression !== 'none')
      throw new InvalidParameterError(`a ${file.compression}-compressed ${file.format} file cannot be converted`);
    try {
      const reader = await openDisk(file.format, await s3RandomAccess(this.s3, this.bucket, file.key));
      // recycled read buffers (raw, fixed vhd): the writer bounds how far back it keeps views of them
      const retainBytes = writerRetainBytes(output, { virtualSize: reader.virtualSize });
      return { source: reader.stream({ retainBytes }), size: reader.virtualSize };
    } catch (err) {
      throw err instanceof DiskFormatError ? new InvalidParameterError(`the image's file cannot be read: ${err.message}`) : err;
    }
  }

  async convertImageFile(file: ImageFile, output: TargetDiskFormat, toKey: string): Promise<void> {
    // one checking pass first: the readers read out of order, so the bytes cannot be checked on the way
    await verifyStoredObject(this.s3, this.bucket, file.key, file, 'the image file');
    const { source, size } = await this.rawDisk(file, output);
    await buildImageFile({
      source,
      sourceSize: size,
      compression: 'none',
      output,
      hash: false,
      sink: createS3MultipartSink({
        client: this.s3,
        bucket: this.bucket,
        key: toKey,
        sizeHint: Math.ceil(size * 1.01) + 1024 * 1024,
        holdFirstPart: true,
        params: { ContentType: fileInfo(output.format).contentType },
      }),
    });
  }
}
