/**
 * PrepareSource: confirms the image is still `creating`, moves the job to RUNNING, and checks the
 * source disk exists, returning its stored size (state → `$.prepared`). When the target leaves the
 * format open (imports from a bucket object), it reads the file's first 64 KiB and last 512 bytes
 * (two ranged GETs), detects the format and virtual size from them, and checks the virtual size
 * against the declared minimum disk (`target.minDiskGiB`).
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { StateConflictError } from '../../core/errors';
import { DETECT_HEAD_BYTES, DETECT_TAIL_BYTES, UnsupportedFormatError, detectFormat } from '../../pipeline';
import { s3Client } from '../../wiring';
import { steps } from '../deps';
import { BuildConflictError, MinDiskTooSmallError, SourceFormatError } from '../errors';
import { classifyS3Error } from '../s3-errors';
import { sourceBucket } from '../source-bucket';
import type { BuildState, PreparedSource } from '../state';
import { classifyTableError } from '../table-errors';
import { workflowTask } from '../attempt';

const GiB = 1024 ** 3;

async function readRange(bucket: string, key: string, range: string, etag: string | undefined, label: string): Promise<Buffer> {
  const out = await s3Client()
    .send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range, ...(etag && { IfMatch: etag }) }))
    .catch((err) => {
      throw classifyS3Error(err, label);
    });
  return Buffer.from(await out.Body!.transformToByteArray());
}

export const handler = workflowTask('PrepareSource', async (state: BuildState): Promise<PreparedSource> => {
  try {
    await steps.begin(state.jobId, state.imageId, 'PrepareSource');
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw classifyTableError(err, 'starting the build');
  }
  const { source, target } = state;
  const bucket = sourceBucket(source.bucket);
  const head = await s3Client()
    .send(new HeadObjectCommand({ Bucket: bucket, Key: source.key }))
    .catch((err) => {
      throw classifyS3Error(err, source.label);
    });
  const prepared: PreparedSource = { size: head.ContentLength ?? 0, ...(head.ETag ? { etag: head.ETag } : {}) };
  if (target.format !== undefined) return prepared;

  const size = prepared.size;
  if (size === 0) throw new SourceFormatError(`${source.label} is empty`);
  const first = await readRange(bucket, source.key, `bytes=0-${Math.min(size, DETECT_HEAD_BYTES) - 1}`, prepared.etag, source.label);
  const last =
    size <= DETECT_HEAD_BYTES
      ? first.subarray(Math.max(0, first.length - DETECT_TAIL_BYTES))
      : await readRange(bucket, source.key, `bytes=${size - DETECT_TAIL_BYTES}-${size - 1}`, prepared.etag, source.label);
  let detected: ReturnType<typeof detectFormat>;
  try {
    detected = detectFormat({ head: first, tail: last, size });
  } catch (err) {
    if (err instanceof UnsupportedFormatError) throw new SourceFormatError(`${source.label}: ${err.message}`);
    throw err;
  }
  if (target.minDiskGiB !== undefined && detected.virtualSize > target.minDiskGiB * GiB) {
    const need = Math.ceil(detected.virtualSize / GiB);
    throw new MinDiskTooSmallError(
      `${source.label} is a ${detected.format} disk of ${need} GiB, larger than min_disk ${target.minDiskGiB} GiB`,
    );
  }
  return { ...prepared, format: detected.format, virtualSize: detected.virtualSize };
});
