/**
 * StartRanges (chunked builds, lambdas/workflow/chunked.ts): plans the ranges of a large source and
 * opens the ONE multipart upload every range writes a part of. Idempotent: a retry after S3 created
 * the upload but the answer was lost finds that upload (ListMultipartUploads on the file's key) and
 * reuses it, so no upload is left open behind a successful build.
 */
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { multipartChecksumAlgorithm } from '../../pipeline';
import { fileInfo, normalizeSpec } from '../../pipeline/formats';
import { rangeFormat } from '../../pipeline/formats/range-formats';
import { config, s3Client } from '../../wiring';
import { ChunkingError, MAX_SOURCE_BYTES, planRanges, type ChunkedUpload, type ChunkingState } from '../chunked';
import { steps } from '../deps';
import { TransientStorageError } from '../errors';
import { ovaDiskKey } from '../ova-compose';
import { imageFileKey, type BuildState } from '../state';
import { correlationIdOfInput } from '../../observability/powertools';
import { workflowTask } from '../attempt';

export const handler = workflowTask('StartRanges', async (state: BuildState & { chunking: ChunkingState }): Promise<ChunkedUpload> => {
  const size = state.prepared?.size ?? state.source.size;
  // raw, or a format ranges can write (docs/decisions/disk-formats.md); the build workflow's
  // ChunkableFormat choice sends the others to the single invocation
  const output = state.target.output && state.target.output.format !== 'raw' ? normalizeSpec(state.target.output) : undefined;
  const format = output && rangeFormat(output, size);
  if (output && !format)
    throw new ChunkingError(
      `${state.source.label} is ${size} bytes; writing ${output.format} is limited to disks below the chunking threshold for now`,
    );
  if (output?.format === 'ova' && state.target.compression !== 'none')
    throw new ChunkingError(`${state.source.label} is ${size} bytes; a gzipped ova is limited to disks below the chunking threshold`);
  if (size > MAX_SOURCE_BYTES)
    throw new ChunkingError(
      `${state.source.label} is ${size} bytes; the largest disk an image can be built from is ${MAX_SOURCE_BYTES} bytes (1 TiB)`,
    );
  const { rangeBytes, ranges } = planRanges(size, state.chunking.rangeBytes, format?.alignment, format?.minLastRange);
  const s3 = s3Client();
  const Bucket = config.imagesBucket();
  // an ova's ranges write its vmdk, which ComposeOva wraps in the ova's tar once it is hashed (ova-compose.ts)
  const ova = output?.format === 'ova';
  const Key = ova
    ? ovaDiskKey(state.imageId)
    : imageFileKey(state.imageId, state.target.compression, output && fileInfo(output.format).extension);
  // as BuildImageFile's sink: a converted, uncompressed file carries its format's content type
  const ContentType = output && state.target.compression === 'none' ? fileInfo(ova ? 'vmdk' : output.format).contentType : undefined;
  try {
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
    let uploadId = open.Uploads?.find((u) => u.Key === Key)?.UploadId;
    if (!uploadId) {
      const algorithm = await multipartChecksumAlgorithm(s3);
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key,
          ...(ContentType && { ContentType }),
          ...(algorithm && { ChecksumAlgorithm: algorithm }),
        }),
      );
      uploadId = created.UploadId;
    }
    if (!uploadId) throw new Error(`CreateMultipartUpload s3://${Bucket}/${Key} returned no UploadId`);
    await steps.progress(state.jobId, 5, 'BuildRanges');
    return {
      key: Key,
      uploadId,
      rangeBytes,
      ranges,
      items: Array.from({ length: ranges }, (_, i) => i),
      output: output ?? { format: 'raw' },
      correlationId: correlationIdOfInput(state) ?? null,
    };
  } catch (err) {
    throw new TransientStorageError(`opening the upload of ${Key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
});
