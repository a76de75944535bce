/**
 * BuildImageFile: streams the source disk (a machine's or volume's disk, or a bucket object) from S3 through the pipeline (compress + sha1 + sha256,
 * gzip members in parallel) into a multipart upload in the images bucket, in bounded memory, and
 * reports job progress at most once a second. On any failure the sink aborts its upload; the
 * workflow's Cleanup then removes anything else under the image's prefix. A cancelled job makes the
 * next progress write fail (a conditional write on RUNNING), which stops the pipeline.
 *
 * With `target.output` the raw disk is written in that format (qcow2, vmdk, vhd, ova: see
 * lambdas/pipeline/formats/index.ts); formats whose head is patched at the end keep part 1 of the
 * upload until close, and their digests are taken from the stored object read back.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { buildImageFile, createS3MultipartSink } from '../../pipeline';
import { fileInfo } from '../../pipeline/formats';
import type { ImageFile } from '../../core/image';
import { config, s3Client } from '../../wiring';
import { steps } from '../deps';
import { BuildConflictError, TransientStorageError } from '../errors';
import { removeImageObjects } from './cleanup';
import { classifyS3Error, isTransientS3Error } from '../s3-errors';
import { sourceBucket } from '../source-bucket';
import { imageFileKey, type BuildState } from '../state';
import { workflowTask } from '../attempt';

/** Job progress while the file is built: 5 % once started, up to 95 % when the last byte is written. */
const progressOf = (done: number, total: number) => 5 + (total > 0 ? (90 * done) / total : 90);

export const handler = workflowTask('BuildImageFile', async (state: BuildState): Promise<ImageFile> => {
  const s3 = s3Client();
  const sourceSize = state.prepared?.size ?? state.source.size;
  const object = await s3
    .send(
      new GetObjectCommand({
        Bucket: sourceBucket(state.source.bucket),
        Key: state.source.key,
        ...(state.prepared?.etag && { IfMatch: state.prepared.etag }),
      }),
    )
    .catch((err) => {
      throw classifyS3Error(err, state.source.label);
    });
  const output = state.target.output && state.target.output.format !== 'raw' ? state.target.output : undefined;
  const key = imageFileKey(state.imageId, state.target.compression, output && fileInfo(output.format).extension);
  const bucket = config.imagesBucket();
  await steps.progress(state.jobId, 5, 'BuildImageFile');
  const result = await buildImageFile({
    source: object.Body as Readable,
    sourceSize,
    compression: state.target.compression,
    output,
    // A size hint keeps the part count under S3's 10,000 for any disk (gzip output can slightly exceed
    // its input on incompressible data, a format its disk by its tables).
    sink: createS3MultipartSink({
      client: s3,
      bucket,
      key,
      sizeHint: Math.ceil(sourceSize * 1.01) + 1024 * 1024,
      holdFirstPart: output !== undefined,
      ...(output && state.target.compression === 'none' && { params: { ContentType: fileInfo(output.format).contentType } }),
    }),
    readBack: async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable,
    onProgress: (done) => steps.progress(state.jobId, progressOf(done, sourceSize), 'BuildImageFile'),
  }).catch((err) => {
    // The upload's storage failing (a 5xx past the SDK's retries) is transient: the Task's Retry runs the
    // build again (the sink has aborted its upload). Anything else (the source's bytes, a cancel) is not.
    if (isTransientS3Error(err))
      throw new TransientStorageError(`writing s3://${bucket}/${key}: ${(err as Error).message}`, { cause: err });
    throw err;
  });
  // A cancel or delete that landed after the last progress write: remove the file this task wrote.
  if (!(await steps.stillBuilding(state.jobId, state.imageId))) {
    await removeImageObjects(state.imageId);
    throw new BuildConflictError(`the build of image ${state.imageId} was cancelled or the image deleted`);
  }
  return {
    size: result.size,
    sha1: result.sha1,
    sha256: result.sha256,
    compression: state.target.compression,
    // written by the pipeline, fixed by the target (machine disks are raw) or detected by PrepareSource (imports)
    format: output?.format ?? state.target.format ?? state.prepared?.format ?? 'raw',
    key,
    virtualSize: output ? result.virtualSize : (state.prepared?.virtualSize ?? sourceSize),
  };
});
