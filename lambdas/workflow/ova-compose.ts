/**
 * An ova built by ranges (docs/decisions/disk-formats.md, "ova by ranges"): the ranges build its
 * streamOptimized vmdk into an inner object under the image's prefix (`ovaDiskKey`), AssembleFile
 * completes it, the HashFile loop hashes it (its SHA256 is the manifest's vmdk line), then ComposeOva
 * writes the ova object with a second multipart upload, in which the vmdk's bytes are copied by S3
 * itself (UploadPartCopy) and only its first and last bytes pass through the function:
 *
 *   part 1        the tar bytes before the vmdk (the `.ovf` entry, the vmdk's header) + vmdk [0, 5 MiB)
 *   parts 2…k+1   UploadPartCopy of vmdk [5 MiB, V − r) in parts of `copyPartBytes` (5 MiB … 5 GiB)
 *   part k+2      vmdk [V − r, V), the remainder under 5 MiB (r may be 0), + the tar bytes after the
 *                 vmdk (its padding, the `.mf` entry, the two zero blocks)
 *
 * A vmdk under 10 MiB is one uploaded part. This module is the pure part arithmetic.
 */
import { MAX_PART_NUMBER, MIN_PART_BYTES } from './chunked';

const MiB = 1024 * 1024;
/** S3's largest part (UploadPart, and UploadPartCopy's source range). */
export const MAX_PART_BYTES = 5 * 1024 * MiB;

/** Where an ova's vmdk is built, under the image's prefix (Cleanup removes it with everything else there). */
export const ovaDiskKey = (imageId: string): string => `images/${imageId}/.ova/disk.vmdk`;

export interface OvaPart {
  partNumber: number;
  /** The vmdk's bytes [start, end) in this part. */
  start: number;
  end: number;
  /** Copied by S3 (UploadPartCopy) rather than uploaded. */
  copy: boolean;
  /** The tar bytes before the vmdk lead the part (part 1). */
  head: boolean;
  /** The tar bytes after the vmdk end the part (the last part). */
  tail: boolean;
}

/** The parts of the ova around a vmdk of `vmdkSize` bytes (see the module comment). */
export function planOvaParts(vmdkSize: number, copyPartBytes: number): OvaPart[] {
  if (!Number.isSafeInteger(vmdkSize) || vmdkSize <= 0) throw new RangeError(`cannot compose an ova around ${vmdkSize} bytes`);
  if (vmdkSize < 2 * MIN_PART_BYTES) return [{ partNumber: 1, start: 0, end: vmdkSize, copy: false, head: true, tail: true }];
  const middle = vmdkSize - MIN_PART_BYTES;
  // within S3's bounds, and large enough for the parts to fit in one upload with the first and the last
  let size = Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, Math.floor(copyPartBytes)));
  if (Math.ceil(middle / size) > MAX_PART_NUMBER - 2) size = Math.ceil(middle / (MAX_PART_NUMBER - 2) / MiB) * MiB;
  if (size > MAX_PART_BYTES) throw new RangeError(`a vmdk of ${vmdkSize} bytes does not fit in ${MAX_PART_NUMBER} parts`);
  const parts: OvaPart[] = [{ partNumber: 1, start: 0, end: MIN_PART_BYTES, copy: false, head: true, tail: false }];
  let at = MIN_PART_BYTES;
  // every copied part at least 5 MiB: a shorter remainder goes into the last, uploaded part
  while (vmdkSize - at >= MIN_PART_BYTES) {
    const end = Math.min(vmdkSize, at + size);
    parts.push({ partNumber: parts.length + 1, start: at, end, copy: true, head: false, tail: false });
    at = end;
  }
  parts.push({ partNumber: parts.length + 1, start: at, end: vmdkSize, copy: false, head: false, tail: true });
  return parts;
}
