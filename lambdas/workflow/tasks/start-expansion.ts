/**
 * StartExpansion (provisioning in ranges, lambdas/workflow/expansion.ts): checks the machine is still
 * `provisioning`, pins the image file's version (HeadObject: its ETag, its size against the manifest),
 * plans the ranges and opens the disk's ONE multipart upload:
 * - a file with a range index: the index is checked against the manifest; its ranges are the build's;
 * - a qcow2, vhd, vmdk or ova file: its reader opens it (header and top-level table, ranged GETs pinned
 *   to the ETag) for its virtual size, the disk's size, which must be the manifest's `virtualSize` when
 *   it has one (ImageFileCorruptError); ranges of `$.expansionSettings.rangeBytes`
 *   (planRanges: at most MAX_RANGES, each part ≥ 5 MiB but the last).
 * Idempotent: a retry after S3 created the upload but the answer was lost finds it
 * (ListMultipartUploads on the disk's key) and reuses it.
 */
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ImageFileCorruptError } from '../../core/errors';
import type { ImageFile } from '../../core/image';
import { s3RandomAccess } from '../../adapters/s3/random-access';
import { DiskFormatError, openDisk } from '../../pipeline/formats';
import { config, machineRepository, s3Client } from '../../wiring';
import { planRanges } from '../chunked';
import { BuildConflictError, SourceFormatError, SourceUnavailableError, TransientStorageError } from '../errors';
import { expansionSource, type ExpansionSettings, type ExpansionUpload } from '../expansion';
import type { ProvisionState } from '../provision-state';
import { readRangeIndex } from '../range-index';
import { classifyS3Error } from '../s3-errors';
import { observedTask } from '../../observability/powertools';

type StartState = ProvisionState & { expansionSettings?: ExpansionSettings };

const isPreconditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'PreconditionFailed' ||
  (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;

/** The disk's size and ranges of a format file, from its header (its reader). */
export async function planFormatRanges(
  s3: S3Client,
  file: ImageFile,
  etag: string,
  settings: ExpansionSettings | undefined,
): Promise<{ rawSize: number; rangeBytes: number; ranges: number }> {
  const label = `the image file ${file.key}`;
  if (!settings || !Number.isSafeInteger(settings.rangeBytes))
    throw new Error('StartExpansion needs $.expansionSettings.rangeBytes for a format file');
  let rawSize: number;
  try {
    const reader = await openDisk(file.format, await s3RandomAccess(s3, config.imagesBucket(), file.key, { size: file.size, etag }));
    rawSize = reader.virtualSize;
  } catch (err) {
    if (err instanceof DiskFormatError) throw new SourceFormatError(`${label} cannot be read as ${file.format}: ${err.message}`);
    if (isPreconditionFailed(err)) throw new SourceUnavailableError(`${label} changed while the disk was being made`);
    throw classifyS3Error(err, label);
  }
  if (rawSize <= 0) throw new SourceFormatError(`${label} describes an empty disk`);
  // the manifest recorded the disk's size when the file was stored: a header that now says otherwise is not that file
  if (file.virtualSize !== undefined && file.virtualSize !== rawSize)
    throw new ImageFileCorruptError(`${label} describes a disk of ${rawSize} bytes, its manifest ${file.virtualSize}`);
  return { rawSize, ...planRanges(rawSize, settings.rangeBytes) };
}

export const handler = observedTask('StartExpansion', async (state: StartState): Promise<ExpansionUpload> => {
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
  const source = expansionSource(file);
  if (!source) throw new SourceFormatError(`${label} (${file.compression} ${file.format}) cannot be expanded in ranges`);
  const etag = head.ETag ?? '';
  const plan =
    source === 'format'
      ? await planFormatRanges(s3, file, etag, state.expansionSettings)
      : await readRangeIndex(s3, config.imagesBucket(), file).then(
          (index) => ({ rawSize: index.rawSize, rangeBytes: index.rangeBytes, ranges: index.ranges }),
          (err) => {
            throw err instanceof ImageFileCorruptError ? err : classifyS3Error(err, `the range index of ${file.key}`);
          },
        );
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
      fileEtag: etag,
      ranges: plan.ranges,
      rawSize: plan.rawSize,
      rangeBytes: plan.rangeBytes,
      items: Array.from({ length: plan.ranges }, (_, i) => i),
      verify: source === 'format',
    };
  } catch (err) {
    if (err instanceof BuildConflictError) throw err;
    throw new TransientStorageError(`opening the upload of the disk ${Key}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
});
