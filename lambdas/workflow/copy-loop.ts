/**
 * A byte-for-byte copy of an image file in a checkpointed loop (docs/decisions/async-provisioning.md,
 * "Copies of any size"): CopyFile is called again and again by the build state machine (CopyDone
 * Choice) with its own last result ($.copied), so no invocation's work grows with the file.
 *
 *   copy phase:   the first call pins the source (HeadObject: size, ETag) and either copies it with one
 *                 CopyObject (up to the multipart threshold, ≤ 5 GiB) or opens ONE multipart upload
 *                 (found again by ListMultipartUploads when a retry lost the answer); every call then
 *                 copies the next parts with UploadPartCopy, `concurrency` at a time, up to a byte
 *                 budget or until a minute of its time is left; parts already in the upload (ListParts)
 *                 are not copied again; the call that copies the last part completes the upload.
 *   verify phase: the copy is read back (ranged GETs pinned to its ETag) through sha1 and sha256 whose
 *                 states are saved between calls (hash-wasm), up to the same budget per call; the last
 *                 call compares size and digests with the manifest (ImageFileCorruptError: final).
 *
 * A retry gets the same input as the failed call, so it resumes from the last checkpoint. On any
 * failure or cancel, Cleanup aborts the upload and removes what was written (the clone's prefix, the
 * export's object and its uploads).
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createSHA1, createSHA256 } from 'hash-wasm';
import type { Readable } from 'node:stream';
import { ImageFileCorruptError } from '../core/errors';
import type { ImageFile } from '../core/image';
import { copyPartSize, type CopySettings } from '../adapters/s3/copy-object';
import { listAllParts } from './multipart-parts';

/** CopyFile's checkpoint and result ($.copied). */
export interface CopyCheckpoint {
  done: boolean;
  /** Calls of CopyFile so far, this one included. */
  invocations: number;
  phase: 'copy' | 'verify';
  size: number;
  /** The source's ETag when the copy started: every part copy is pinned to it. */
  sourceEtag: string;
  /** Multipart copies: the upload, its part size and count, and how many leading parts are copied. */
  upload?: { uploadId: string; partSize: number; parts: number; copied: number };
  /** Verify phase: the copy's ETag, the bytes hashed so far and the saved hash states (base64). */
  copyEtag?: string;
  offset: number;
  sha1State?: string;
  sha256State?: string;
  /** The clone's file, when done (an export's file is not an image's). */
  file?: ImageFile;
}

export interface CopyLoopInput {
  s3: S3Client;
  bucket: string;
  file: ImageFile;
  toKey: string;
  settings: CopySettings;
  /** Bytes a call copies (and hashes) at most before it checkpoints. */
  bytesPerInvocation: number;
  previous?: CopyCheckpoint;
  remainingMs?: () => number;
  onProgress?: (fraction: number) => Promise<void>;
}

const TIME_MARGIN_MS = 60_000;

const copySource = (bucket: string, key: string): string => `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** The first call: pin the source, then copy it whole (small) or open the upload (found again on a retry). */
async function start(input: CopyLoopInput): Promise<CopyCheckpoint> {
  const { s3, bucket: Bucket, file, toKey: Key, settings } = input;
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: file.key }));
  const size = head.ContentLength ?? 0;
  if (size !== file.size) throw new ImageFileCorruptError(`the image file has ${size} bytes, its manifest ${file.size}`);
  const sourceEtag = head.ETag ?? '';
  const base = { done: false, invocations: 0, size, sourceEtag, offset: 0 };
  if (size <= settings.multipartThreshold) {
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key,
        CopySource: copySource(Bucket, file.key),
        ...(sourceEtag && { CopySourceIfMatch: sourceEtag }),
      }),
    );
    return { ...base, phase: 'verify' };
  }
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
  let uploadId = open.Uploads?.find((u) => u.Key === Key)?.UploadId;
  uploadId ??= (await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: head.ContentType }))).UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload s3://${Bucket}/${Key} returned no UploadId`);
  const partSize = copyPartSize(size, settings.partSize);
  return { ...base, phase: 'copy', upload: { uploadId, partSize, parts: Math.ceil(size / partSize), copied: 0 } };
}

/** Copies the next parts within the budget; completes the upload after the last one. */
async function copyParts(input: CopyLoopInput, cp: CopyCheckpoint): Promise<CopyCheckpoint> {
  const { s3, bucket: Bucket, file, toKey: Key, settings } = input;
  const upload = cp.upload!;
  const { uploadId: UploadId, partSize, parts } = upload;
  // what an earlier attempt of this call may already have copied
  const present = new Set((await listAllParts(s3, Bucket, Key, UploadId)).map((p) => p.PartNumber!));
  const budgetParts = Math.max(1, Math.floor(input.bytesPerInvocation / partSize));
  const last = Math.min(parts, upload.copied + budgetParts);
  let next = upload.copied;
  let failed: unknown;
  let finished = upload.copied;
  const done = new Set<number>();
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < last) {
      // at least one part per call, so the loop always advances
      if (done.size > 0 && input.remainingMs && input.remainingMs() < TIME_MARGIN_MS) return;
      const index = next++;
      if (present.has(index + 1)) {
        done.add(index);
        continue;
      }
      const first = index * partSize;
      const end = Math.min(cp.size, first + partSize) - 1;
      try {
        await s3.send(
          new UploadPartCopyCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber: index + 1,
            CopySource: copySource(Bucket, file.key),
            CopySourceRange: `bytes=${first}-${end}`,
            ...(cp.sourceEtag && { CopySourceIfMatch: cp.sourceEtag }),
          }),
        );
        done.add(index);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  // every worker settles before the outcome is decided: no part lands after the call has answered
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, Math.max(1, last - next)) }, worker));
  if (failed !== undefined) throw failed;
  while (done.has(finished)) finished++;
  if (finished < parts) return { ...cp, upload: { ...upload, copied: finished } };
  const all = await listAllParts(s3, Bucket, Key, UploadId);
  if (all.length !== parts || all.some((p, i) => p.PartNumber !== i + 1))
    throw new Error(`s3://${Bucket}/${Key}: expected parts 1…${parts}, found ${all.length}`);
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key,
      UploadId,
      MultipartUpload: { Parts: all.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
    }),
  );
  return { ...cp, phase: 'verify', upload: { ...upload, copied: parts } };
}

/** Hashes the next slice of the copy; on the last one, checks it against the manifest. */
async function verify(input: CopyLoopInput, cp: CopyCheckpoint): Promise<CopyCheckpoint> {
  const { s3, bucket: Bucket, file, toKey: Key } = input;
  let copyEtag = cp.copyEtag;
  if (!copyEtag) {
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    if (head.ContentLength !== file.size)
      throw new ImageFileCorruptError(`the copy of the image file has ${head.ContentLength} bytes, its manifest ${file.size}`);
    copyEtag = head.ETag ?? '';
  }
  const sha1 = await createSHA1();
  const sha256 = await createSHA256();
  if (cp.sha1State && cp.sha256State) {
    sha1.load(Buffer.from(cp.sha1State, 'base64'));
    sha256.load(Buffer.from(cp.sha256State, 'base64'));
  } else {
    sha1.init();
    sha256.init();
  }
  let offset = cp.offset;
  const end = Math.min(file.size, offset + input.bytesPerInvocation);
  if (offset < end) {
    const object = await s3.send(
      new GetObjectCommand({ Bucket, Key, Range: `bytes=${offset}-${end - 1}`, ...(copyEtag && { IfMatch: copyEtag }) }),
    );
    const body = object.Body as Readable;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      sha1.update(chunk);
      sha256.update(chunk);
      offset += chunk.length;
      if (input.remainingMs && input.remainingMs() < TIME_MARGIN_MS) {
        body.destroy();
        break;
      }
    }
    if (offset > end) throw new Error(`s3://${Bucket}/${Key}: the ranged GET returned more bytes than asked`);
  }
  if (offset < file.size)
    return {
      ...cp,
      copyEtag,
      offset,
      sha1State: Buffer.from(sha1.save()).toString('base64'),
      sha256State: Buffer.from(sha256.save()).toString('base64'),
    };
  if (sha1.digest('hex') !== file.sha1 || sha256.digest('hex') !== file.sha256)
    throw new ImageFileCorruptError(`the copy of the image file does not match its manifest's checksums`);
  return { ...cp, copyEtag, offset, sha1State: undefined, sha256State: undefined, done: true };
}

/** One call of the loop: from the previous checkpoint (none on the first call) to the next. */
export async function copyStep(input: CopyLoopInput): Promise<CopyCheckpoint> {
  let cp = input.previous ?? (await start(input));
  const invocations = (input.previous?.invocations ?? 0) + 1;
  if (cp.phase === 'copy') {
    cp = await copyParts(input, cp);
    await input.onProgress?.(cp.upload ? (0.5 * cp.upload.copied) / cp.upload.parts : 0.5);
    // the verification starts in the next call, with a whole budget
    return { ...cp, invocations };
  }
  cp = await verify(input, cp);
  await input.onProgress?.(0.5 + (0.5 * cp.offset) / Math.max(1, input.file.size));
  return { ...cp, invocations };
}
