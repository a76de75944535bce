/**
 * StartExpansion (provisioning in ranges, lambdas/workflow/expansion.ts): checks the machine is still
 * `provisioning`, pins the image file's version (HeadObject: its ETag, its size against the manifest),
 * checks the range index against the manifest, and opens the disk's ONE multipart upload. Idempotent:
 * a retry after S3 created the upload but the answer was lost finds it (ListMultipartUploads on the
 * disk's key) and reuses it.
 */
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { ImageFileCorruptError } from '../../core/errors';
import { config, machineRepository, s3Client } from '../../wiring';
import { BuildConflictError, TransientStorageError } from '../errors';
import type { ExpansionUpload } from '../expansion';
import type { ProvisionState } from '../provision-state';
import { readRangeIndex } from '../range-index';
import { classifyS3Error } from '../s3-errors';
import { observedTask } from '../../observability/powertools';

export const handler = observedTask('StartExpansion', async (state: ProvisionState): Promise<ExpansionUpload> => {
  const machine = await machineRepository().get(state.machineId);
  if (machine?.state !== 'provisioning')
    throw new BuildConflictError(`machine ${state.machineId} is ${machine?.state ?? 'gone'}; nothing to provision`);
  const s3 = s3Client();
  const { file } = state;
  const label = `the image file ${file.key}`;
  const head = await s3.send(new HeadObjectCommand({ Bucket: config.imagesBucket(), Key: file.key })).catch((err) => {
    throw classifyS3Error(err, label);
  });
  if (head.ContentLength !== file.size)
    throw new ImageFileCorruptError(`${label} has ${head.ContentLength} bytes, its manifest ${file.size}`);
  const index = await readRangeIndex(s3, config.imagesBucket(), file).catch((err) => {
    throw err instanceof ImageFileCorruptError ? err : classifyS3Error(err, `the range index of ${file.key}`);
  });
  const Bucket = config.disksBucket();
  const Key = state.disk.key;
  try {
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
    let uploadId = open.Uploads?.find((u) => u.Key === Key)?.UploadId;
    uploadId ??= (await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }))).UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload s3://${Bucket}/${Key} returned no UploadId`);
    // a stopped execution's clean-up (lambdas/workflow/execution-ended.ts) may have run meanwhile: nothing may stay open behind it
    if ((await machineRepository().get(state.machineId))?.state !== 'provisioning') {
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }));
      throw new BuildConflictError(`machine ${state.machineId} left provisioning; its disk upload was aborted`);
    }
    return {
      key: Key,
      uploadId,
      fileEtag: head.ETag ?? '',
      ranges: index.ranges,
      rawSize: index.rawSize,
      items: Array.from({ length: index.ranges }, (_, i) => i),
    };
  } catch (err) {
    if (err instanceof BuildConflictError) throw err;
    throw new TransientStorageError(`opening the upload of the disk ${Key}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
});
