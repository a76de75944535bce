/** DiskUploader on S3: streams a local disk file into the disks bucket (multipart when large). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DiskUploader } from '../../core/use-cases/admin';

export class S3DiskUploader implements DiskUploader {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async putDisk(key: string, file: string): Promise<number> {
    const { size } = await stat(file);
    await new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(file, { highWaterMark: 1 << 20 }), ContentLength: size },
      partSize: 16 * 1024 * 1024,
      queueSize: 2,
    }).done();
    return size;
  }
}
