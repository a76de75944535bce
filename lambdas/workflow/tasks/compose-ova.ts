/**
 * ComposeOva (chunked ova builds, lambdas/workflow/ova-compose.ts): writes the ova object around the
 * vmdk the ranges built and the first HashFile pass hashed, with a second multipart upload in which
 * S3 copies the vmdk's bytes (UploadPartCopy) and only its first and last bytes pass through here,
 * beside the tar entries: the `.ovf` (ova.ts's descriptor) first, the vmdk, the `.mf` with both SHA256.
 *
 * A loop like CopyFile's: each call writes the parts still missing (ListParts), `concurrency` at a
 * time, up to a byte budget ($.chunking.hashBytesPerInvocation) or until a minute of its time is left;
 * the call that finds every part in completes the upload and deletes the vmdk. Every read of the vmdk
 * (ranged GET, copy) is pinned to its ETag. Idempotent: the upload is found again by
 * ListMultipartUploads, a part already in it is not written again (its bytes are the same: the tar
 * entries' mtime is the vmdk's LastModified), and a call after the completion finds the ova and only
 * removes the vmdk. On any failure Cleanup aborts the upload and removes the vmdk with the prefix.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { copySettingsFromEnv } from '../../adapters/s3/copy-object';
import { StateConflictError } from '../../core/errors';
import { multipartChecksumAlgorithm } from '../../pipeline';
import { fileInfo } from '../../pipeline/formats';
import { ovaEntries } from '../../pipeline/formats/ova';
import { config, s3Client } from '../../wiring';
import { workflowTask } from '../attempt';
import type { AssembledFile, ChunkedUpload, ChunkingState, ComposedOva, HashCheckpoint } from '../chunked';
import { steps } from '../deps';
import { BuildConflictError, TransientStorageError } from '../errors';
import { completedParts, listAllParts } from '../multipart-parts';
import { planOvaParts, type OvaPart } from '../ova-compose';
import { imageFileKey, type BuildState } from '../state';

const TIME_MARGIN_MS = 60_000;

type ComposeState = BuildState & {
  chunking: ChunkingState;
  chunked: ChunkedUpload;
  assembled: AssembledFile;
  hash: HashCheckpoint;
  composed?: ComposedOva;
};

/** Refused for good (not retried): the vmdk changed or vanished, or the upload was aborted (the build is failing). */
export class OvaComposeError extends Error {
  override readonly name = 'OvaComposeError';
}

const status = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const errorName = (err: unknown): string | undefined => (err as { name?: string })?.name;

const copySource = (bucket: string, key: string): string => `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

export const handler = workflowTask(
  'ComposeOva',
  async (state: ComposeState, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ComposedOva> => {
    const s3 = s3Client();
    const Bucket = config.imagesBucket();
    const Key = imageFileKey(state.imageId, 'none', fileInfo('ova').extension);
    const vmdkKey = state.chunked.key;
    const { size: vmdkSize, etag: vmdkEtag } = state.assembled;
    const vmdkSha256 = state.hash.file?.sha256;
    if (!state.hash.done || !vmdkSha256) throw new OvaComposeError('ComposeOva needs the vmdk hashed ($.hash.done)');
    const invocations = (state.composed?.invocations ?? 0) + 1;
    try {
      return await compose();
    } catch (err) {
      if (err instanceof OvaComposeError) throw err;
      if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
      if (status(err) === 412 || errorName(err) === 'PreconditionFailed')
        throw new OvaComposeError(`the vmdk s3://${Bucket}/${vmdkKey} changed while the ova was composed`);
      if (errorName(err) === 'NoSuchUpload') throw new OvaComposeError(`the upload of s3://${Bucket}/${Key} is gone (aborted)`);
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new TransientStorageError(`composing s3://${Bucket}/${Key}: ${reason}`, { cause: err });
    }

    async function compose(): Promise<ComposedOva> {
      // completed by an earlier call whose answer was lost: only the vmdk is left to remove
      const existing = await headOrUndefined(s3, Bucket, Key);
      if (existing) return finish(existing.ContentLength ?? 0, existing.ETag ?? '', state.composed?.parts ?? 0);

      const vmdk = await s3.send(new HeadObjectCommand({ Bucket, Key: vmdkKey, IfMatch: vmdkEtag })).catch((err) => {
        if (status(err) === 404) throw new OvaComposeError(`the vmdk s3://${Bucket}/${vmdkKey} is gone`);
        throw err;
      });
      if (vmdk.ContentLength !== vmdkSize)
        throw new OvaComposeError(`the vmdk has ${vmdk.ContentLength} bytes, AssembleFile recorded ${vmdkSize}`);
      const output = state.chunked.output;
      const entries = ovaEntries({
        virtualSize: state.prepared?.size ?? state.source.size,
        ...(output?.format === 'ova' && output.ova),
        // the same tar bytes in every call and every retry
        mtime: vmdk.LastModified ?? new Date(0),
      });
      const head = entries.head(vmdkSize);
      const tail = entries.tail(vmdkSize, vmdkSha256!);
      const plan = planOvaParts(vmdkSize, copySettingsFromEnv().partSize);
      const algorithm = await multipartChecksumAlgorithm(s3);

      let UploadId = state.composed?.uploadId;
      if (!UploadId) {
        const open = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
        UploadId = open.Uploads?.find((u) => u.Key === Key)?.UploadId;
      }
      if (!UploadId) {
        const created = await s3.send(
          new CreateMultipartUploadCommand({
            Bucket,
            Key,
            ContentType: fileInfo('ova').contentType,
            ...(algorithm && { ChecksumAlgorithm: algorithm }),
          }),
        );
        UploadId = created.UploadId;
      }
      if (!UploadId) throw new Error(`CreateMultipartUpload s3://${Bucket}/${Key} returned no UploadId`);
      const uploadId = UploadId;

      const writePart = async (part: OvaPart): Promise<void> => {
        if (part.copy) {
          await s3.send(
            new UploadPartCopyCommand({
              Bucket,
              Key,
              UploadId: uploadId,
              PartNumber: part.partNumber,
              CopySource: copySource(Bucket, vmdkKey),
              CopySourceRange: `bytes=${part.start}-${part.end - 1}`,
              CopySourceIfMatch: vmdkEtag,
            }),
          );
          return;
        }
        let bytes = Buffer.alloc(0);
        if (part.end > part.start) {
          const object = await s3.send(
            new GetObjectCommand({ Bucket, Key: vmdkKey, Range: `bytes=${part.start}-${part.end - 1}`, IfMatch: vmdkEtag }),
          );
          bytes = Buffer.from(await object.Body!.transformToByteArray());
          if (bytes.length !== part.end - part.start)
            throw new Error(`a ranged GET of the vmdk returned ${bytes.length} bytes, not ${part.end - part.start}`);
        }
        const Body = Buffer.concat([part.head ? head : Buffer.alloc(0), bytes, part.tail ? tail : Buffer.alloc(0)]);
        await s3.send(
          new UploadPartCommand({
            Bucket,
            Key,
            UploadId: uploadId,
            PartNumber: part.partNumber,
            Body,
            ContentLength: Body.length,
            ...(algorithm && { ChecksumAlgorithm: algorithm }),
          }),
        );
      };

      // what earlier calls (or attempts of this one) already wrote
      const present = new Set((await listAllParts(s3, Bucket, Key, uploadId)).map((p) => p.PartNumber!));
      const missing = plan.filter((p) => !present.has(p.partNumber));
      let budget = state.chunking.hashBytesPerInvocation;
      let next = 0;
      let written = 0;
      let failed: { error: unknown } | undefined;
      const worker = async (): Promise<void> => {
        while (!failed && next < missing.length) {
          // at least one part per call, so the loop always advances
          if (next > 0 && (budget <= 0 || (context && context.getRemainingTimeInMillis() < TIME_MARGIN_MS))) return;
          const part = missing[next++];
          budget -= part.end - part.start;
          try {
            await writePart(part);
            written++;
          } catch (error) {
            failed ??= { error };
          }
        }
      };
      // every worker settles before the outcome is decided: no part lands after the call has answered
      await Promise.all(Array.from({ length: Math.min(copySettingsFromEnv().concurrency, Math.max(1, missing.length)) }, worker));
      if (failed) throw failed.error;
      const inUpload = present.size + written;
      await steps.progress(state.jobId, 89 + inUpload / plan.length, 'ComposeOva');
      if (inUpload < plan.length)
        return { done: false, invocations, key: Key, uploadId, parts: plan.length, written: inUpload, vmdkSha256: vmdkSha256! };

      const parts = await listAllParts(s3, Bucket, Key, uploadId);
      if (parts.length !== plan.length || parts.some((p, i) => p.PartNumber !== i + 1))
        throw new OvaComposeError(`s3://${Bucket}/${Key}: expected parts 1…${plan.length}, found ${parts.length}`);
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: completedParts(parts) } }),
      );
      const ova = await s3.send(new HeadObjectCommand({ Bucket, Key }));
      const expected = head.length + vmdkSize + tail.length;
      if (ova.ContentLength !== expected)
        throw new OvaComposeError(`the ova s3://${Bucket}/${Key} has ${ova.ContentLength} bytes, not ${expected}`);
      return finish(expected, ova.ETag ?? '', plan.length);
    }

    /** The ova is complete: the vmdk goes (a second delete of it is a no-op). */
    async function finish(size: number, etag: string, parts: number): Promise<ComposedOva> {
      await s3.send(new DeleteObjectCommand({ Bucket, Key: vmdkKey }));
      return { done: true, invocations, key: Key, parts, written: parts, vmdkSha256: vmdkSha256!, size, etag };
    }
  },
);

async function headOrUndefined(s3: S3Client, Bucket: string, Key: string) {
  return s3.send(new HeadObjectCommand({ Bucket, Key })).catch((err) => {
    if (status(err) === 404) return undefined;
    throw err;
  });
}
