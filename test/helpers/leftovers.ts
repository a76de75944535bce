/** What a machine's provisioning left in the disks bucket: objects and open multipart uploads under its prefix. */
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3, stack } from './local-stack';

export async function diskLeftovers(machineId: string): Promise<{ objects: number; uploads: number }> {
  const Bucket = stack.env.DISKS_BUCKET;
  const Prefix = `machines/${machineId}/`;
  const objects = await s3().send(new ListObjectsV2Command({ Bucket, Prefix }));
  const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
  return { objects: objects.KeyCount ?? 0, uploads: uploads.Uploads?.length ?? 0 };
}
