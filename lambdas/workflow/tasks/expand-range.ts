/**
 * ExpandRange (one iteration of the ExpandRanges Map, lambdas/workflow/expansion.ts): makes range i of
 * the disk in a buffer of exactly the range's raw length and uploads that as part i + 1 of the disk's
 * upload. Memory and time are bounded by one range (≤ 1 GiB, lambdas/workflow/chunked.ts), never by the disk.
 * - a file with a range index: reads range i of the file (its place from the index) with one ranged GET
 *   pinned to the file's ETag, checks it (its length and MD5 against the index; gunzip checks every
 *   member's CRC-32 and length) and gunzips it when compressed;
 * - a qcow2, vhd, vmdk or ova file: reads disk bytes [i·R, …) through the format's reader
 *   (DiskReader.streamRange), whose ranged GETs (pinned to the ETag) fetch only the tables and clusters
 *   that cover the range. A table or block outside the file is a SourceFormatError, final.
 *
 * - Idempotent: when the part is already in the upload (an earlier attempt uploaded it, then failed to
 *   answer), the range is not expanded again; a retried UploadPart replaces the part with the same bytes.
 * - A file that differs from its index, or is not valid gzip, fails for good (ImageFileCorruptError,
 *   SourceFormatError); a file replaced meanwhile (412) is SourceUnavailableError; a machine that left
 *   `provisioning` stops the range (BuildConflictError); other storage errors are retried.
 */
import { GetObjectCommand, ListPartsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ImageFileCorruptError } from '../../core/errors';
import { config, machineRepository, s3Client } from '../../wiring';
import { BuildConflictError, SourceFormatError, SourceUnavailableError, TransientStorageError } from '../errors';
import { s3RandomAccess } from '../../adapters/s3/random-access';
import { DiskFormatError, openDisk } from '../../pipeline/formats';
import { rangeBounds } from '../chunked';
import { diskPartNumberOf, expansionSource, type ExpandRangeTask } from '../expansion';
import { locateRange, readRangeIndex } from '../range-index';
import { classifyS3Error } from '../s3-errors';
import { observedTask } from '../../observability/powertools';

const isPreconditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'PreconditionFailed' ||
  (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;

const isZlibError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('Z_');

export interface ExpandRangeResult {
  index: number;
  /** Disk bytes uploaded (0 when the part was already there). */
  bytes: number;
  skipped: boolean;
}

export const handler = observedTask('ExpandRange', async (task: ExpandRangeTask): Promise<ExpandRangeResult> => {
  const machine = await machineRepository().get(task.machineId);
  if (machine?.state !== 'provisioning')
    throw new BuildConflictError(`machine ${task.machineId} is ${machine?.state ?? 'gone'}; nothing to provision`);
  const s3 = s3Client();
  const { file } = task;
  const { key: Key, uploadId: UploadId } = task.upload;
  const Bucket = config.disksBucket();
  const PartNumber = diskPartNumberOf(task.index);
  const storage = (what: string) => (err: unknown) => {
    if ((err as { name?: string })?.name === 'NoSuchUpload')
      throw new BuildConflictError(`the upload of the disk ${Key} is gone (provisioning failed or was stopped)`);
    throw new TransientStorageError(`${what} of the disk ${Key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  };

  const listed = await s3
    .send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: String(PartNumber - 1), MaxParts: 1 }))
    .catch(storage('ListParts'));
  if (listed.Parts?.[0]?.PartNumber === PartNumber) return { index: task.index, bytes: 0, skipped: true };

  const label = `range ${task.index} of the image file ${file.key}`;
  const raw = expansionSource(file) === 'format' ? await readFormatRange(task, label) : await readIndexedRange(task, label);

  await s3
    .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: raw, ContentLength: raw.length }))
    .catch(storage(`UploadPart ${PartNumber}`));
  return { index: task.index, bytes: raw.length, skipped: false };
});

/** Range i of a qcow2/vhd/vmdk/ova file's disk, through its reader. */
async function readFormatRange(task: ExpandRangeTask, label: string): Promise<Buffer> {
  const { file, upload } = task;
  const { start, end } = rangeBounds(task.index, upload.rangeBytes, upload.rawSize, upload.ranges);
  const raw = Buffer.allocUnsafe(end - start);
  let filled = 0;
  try {
    const source = await s3RandomAccess(s3Client(), config.imagesBucket(), file.key, { size: file.size, etag: upload.fileEtag });
    const reader = await openDisk(file.format, source);
    if (reader.virtualSize !== upload.rawSize)
      throw new DiskFormatError(`its disk has ${reader.virtualSize} bytes, not the ${upload.rawSize} the expansion started with`);
    for await (const piece of reader.streamRange(start, end)) filled += piece.copy(raw, filled);
  } catch (err) {
    if (err instanceof DiskFormatError) throw new SourceFormatError(`${label} cannot be read as ${file.format}: ${err.message}`);
    if (isPreconditionFailed(err)) throw new SourceUnavailableError(`the image file ${file.key} changed while the disk was being made`);
    throw classifyS3Error(err, label);
  }
  if (filled !== raw.length) throw new SourceFormatError(`${label}: its reader gave ${filled} of ${raw.length} bytes`);
  return raw;
}

/** Range i of a raw file built in ranges, located and checked by its range index. */
async function readIndexedRange(task: ExpandRangeTask, label: string): Promise<Buffer> {
  const s3 = s3Client();
  const { file } = task;
  const index = await readRangeIndex(s3, config.imagesBucket(), file).catch((err) => {
    throw err instanceof ImageFileCorruptError ? err : classifyS3Error(err, `the range index of ${file.key}`);
  });
  const range = locateRange(index, task.index);
  const raw = Buffer.allocUnsafe(range.rawLength);
  let rawFilled = 0;
  let fileBytes = 0;
  const md5 = createHash('md5');
  try {
    const object = await s3.send(
      new GetObjectCommand({
        Bucket: config.imagesBucket(),
        Key: file.key,
        Range: `bytes=${range.fileStart}-${range.fileStart + range.fileLength - 1}`,
        ...(task.upload.fileEtag && { IfMatch: task.upload.fileEtag }),
      }),
    );
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        fileBytes += chunk.length;
        md5.update(chunk);
        cb(null, chunk);
      },
    });
    const collect = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (rawFilled + chunk.length > raw.length) return cb(new ImageFileCorruptError(`${label} holds more than its ${raw.length} bytes`));
        chunk.copy(raw, rawFilled);
        rawFilled += chunk.length;
        cb();
      },
    });
    const body = object.Body as Readable;
    if (file.compression === 'gzip') await pipeline(body, counted, createGunzip(), collect);
    else await pipeline(body, counted, collect);
  } catch (err) {
    if (err instanceof ImageFileCorruptError) throw err;
    if (isPreconditionFailed(err)) throw new SourceUnavailableError(`the image file ${file.key} changed while the disk was being made`);
    if (isZlibError(err)) throw new SourceFormatError(`${label} is not valid gzip: ${(err as Error).message}`);
    throw classifyS3Error(err, label);
  }
  if (fileBytes !== range.fileLength) throw new TransientStorageError(`${label}: read ${fileBytes} of ${range.fileLength} bytes`);
  if (range.md5 && md5.digest('hex') !== range.md5) throw new ImageFileCorruptError(`${label} does not match its checksum`);
  if (rawFilled !== raw.length) throw new ImageFileCorruptError(`${label} holds ${rawFilled} bytes, not ${raw.length}`);
  return raw;
}
