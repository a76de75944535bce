/**
 * Disk formats in chunked builds (the formats: range-formats.ts) (docs/decisions/chunked-builds.md, "Contract for format writers";
 * docs/decisions/disk-formats.md, "Chunked (range) builds"): a range of the raw disk is encoded into
 * a position-independent data part plus a small index, and the assembly, given every range's index
 * in order, writes the head (part 1) and the tail (the part after the last range) with the tables
 * that name absolute offsets. No step needs the whole disk.
 *
 *   const format = rangeFormat({ format: 'qcow2' }, diskSize);
 *   // per range i (any order, in parallel): source bytes [start, end), ends aligned to format.alignment
 *   const { parts, length, index } = await format.encodeRange({ raw, start, end, padTo });
 *   // once all ranges are in, with their indexes in range order:
 *   const { head, tail } = format.assemble(indexes, { minHeadBytes });
 *   // the file: head ‖ part 0 ‖ … ‖ part n-1 ‖ tail
 *
 * Padding: a data part must be at least 5 MiB when another part follows it (S3's minimum part size).
 * `padTo` pads inside the format (qcow2: unreferenced clusters with refcount 0; vhd dynamic: space
 * between blocks that no BAT entry names); `minHeadBytes` does the same for the head.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DiskFormatError, type RawSource } from './stage';

export interface RangeInput {
  /** The range's raw bytes: exactly end − start bytes. */
  raw: RawSource;
  /** Source bytes [start, end) of the disk; start is a multiple of `alignment`, so is end unless it is the disk's end. */
  start: number;
  end: number;
  /** Pad the data part inside the format to at least this many bytes (another part follows it). */
  padTo?: number;
}

export interface EncodedRange {
  /** The data part, in order (views of the source's buffers where possible). */
  parts: Buffer[];
  /** Bytes of `parts`. */
  length: number;
  /** What the assembly needs from this range (packIndex: its length and the format's entries). */
  index: Buffer;
}

export interface AssembledTables {
  /** Part 1 (empty: the format has nothing at the front). */
  head: Buffer;
  /** The part after the last range (empty: nothing at the end). */
  tail: Buffer;
}

export interface RangeFormat {
  /** Ranges start at multiples of this many source bytes (the format's allocation unit). */
  readonly alignment: number;
  /** The disk size the file declares (the source size rounded up to whole sectors). */
  readonly virtualSize: number;
  /** The last range must be at least this long (merged into the one before otherwise): 0 when any length pads. */
  readonly minLastRange?: number;
  /** Whether the assembly writes a tail: then every data part, the last one too, is followed by another. */
  readonly hasTail: boolean;
  /** Encodes one range into its data part and index (the last range of a format without a tail may carry a trailer). */
  encodeRange(input: RangeInput): Promise<EncodedRange>;
  /** The head and tail from every range's index, in range order. */
  assemble(indexes: Buffer[], opts?: { minHeadBytes?: number }): AssembledTables;
}

const INDEX_MAGIC = 0x4d495352; // "MISR"

/** A range's index as stored: magic, its data part's length, and the format's entries deflated. */
export function packIndex(length: number, entries: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(INDEX_MAGIC, 0);
  head.writeUInt32BE(Math.floor(length / 2 ** 32), 4);
  head.writeUInt32BE(length >>> 0, 8);
  return Buffer.concat([head, deflateRawSync(entries)]);
}

export function unpackIndex(index: Buffer): { length: number; entries: Buffer } {
  if (index.length < 12 || index.readUInt32BE(0) !== INDEX_MAGIC) throw new DiskFormatError('not a range index');
  return { length: index.readUInt32BE(4) * 2 ** 32 + index.readUInt32BE(8), entries: inflateRawSync(index.subarray(12)) };
}
