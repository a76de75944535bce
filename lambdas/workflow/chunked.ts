/**
 * Chunked builds (docs/decisions/chunked-builds.md): above a size threshold the source is cut into
 * ranges, each built by one bounded invocation (BuildRange) into its own part(s) of ONE multipart
 * upload, assembled (AssembleFile), then hashed in a checkpointed loop (HashFile). This module holds
 * the settings the state machine carries and the pure range arithmetic every task shares.
 *
 * Part numbers: part 1 is reserved for a format head written at assembly (qcow2/vmdk/vhd headers and
 * tables; nothing for raw and gzip), range i is part i + 2, and the part after the last range is
 * reserved for a format tail (a vhd footer). S3 allows gaps in part numbers.
 */
import type { ImageFile, TargetDiskFormat } from '../core/image';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** S3: every part but the last is at least 5 MiB; at most 10,000 parts. */
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_NUMBER = 10_000;
/**
 * At most this many ranges, so one execution's history stays far below Step Functions' 25,000 events
 * (7 events per range, about 3 more per retried attempt; see the decision record).
 */
export const MAX_RANGES = 2000;
/**
 * A range's output is held in memory until its single UploadPart (gzip can exceed its input on
 * incompressible bytes by about 0.03 %): 1 GiB keeps that under a third of the function's 3,538 MB.
 */
export const MAX_RANGE_BYTES = GiB;
/** The largest disk a build takes: MAX_RANGES × MAX_RANGE_BYTES, rounded down to 1 TiB (see README, "Limits and cost"). */
export const MAX_SOURCE_BYTES = 1024 * GiB;

/** The stack settings of chunked builds, written into the state machine (a Choice and a Pass state). */
export interface ChunkingSettings {
  /** Sources of at least this many bytes are built in ranges. */
  thresholdBytes: number;
  /** Preferred range size (raised when a disk would need more than MAX_RANGES ranges). */
  rangeBytes: number;
  /** Bytes one HashFile invocation hashes at most before it checkpoints. */
  hashBytesPerInvocation: number;
  /** Ranges built at once (the Map state's MaxConcurrency; inline Map runs at most 40). */
  maxConcurrency: number;
}

export const DEFAULT_CHUNKING: ChunkingSettings = {
  thresholdBytes: GiB,
  rangeBytes: 256 * MiB,
  hashBytesPerInvocation: 32 * GiB,
  maxConcurrency: 40,
};

/** What the state machine passes to the chunked tasks ($.chunking). */
export type ChunkingState = Pick<ChunkingSettings, 'rangeBytes' | 'hashBytesPerInvocation'>;

/** StartRanges' result ($.chunked): the upload every range writes into. */
export interface ChunkedUpload {
  key: string;
  uploadId: string;
  /** Source bytes per range (the last range may be shorter). */
  rangeBytes: number;
  ranges: number;
  /** 0 … ranges-1: the Map state's items. */
  items: number[];
  /**
   * The disk format the ranges write (lambdas/pipeline/formats/range-formats.ts): raw, or a format
   * whose head and tail AssembleFile writes. StartRanges always sets it, so the Map's ItemSelector can
   * name it; absent (an execution started before it existed) means raw.
   */
  output?: TargetDiskFormat;
  /**
   * The execution's correlation id (lambdas/observability/correlation.ts), null when it has none: the
   * Map's ItemSelector hands it to every range, and a JSONPath there must always resolve.
   */
  correlationId: string | null;
}

/** One Map iteration's input (the Map's ItemSelector). */
export interface RangeTask {
  imageId: string;
  jobId: string;
  index: number;
  source: { bucket: import('../core/ports').SourceStore; key: string; label: string };
  prepared: { size: number; etag?: string };
  size: number;
  compression: 'gzip' | 'none';
  upload: Omit<ChunkedUpload, 'items' | 'correlationId'>;
  /** The execution's correlation id, which BuildRange logs (null when the execution has none). */
  correlationId: string | null;
}

export interface RangeResult {
  index: number;
  /** Output bytes of the range's part (padding included); 0 when the part was already there. */
  bytes: number;
  skipped: boolean;
}

/** AssembleFile's result ($.assembled). */
export interface AssembledFile {
  size: number;
  etag: string;
  parts: number;
  /** Set when a range index was written beside the file (lambdas/workflow/range-index.ts). */
  rangeIndex?: ImageFile['rangeIndex'];
}

/** HashFile's result ($.hash): a checkpoint, or the finished file. */
export interface HashCheckpoint {
  /** Bytes of the assembled file hashed so far. */
  offset: number;
  /** Saved hash-wasm states (base64). */
  sha1State: string;
  sha256State: string;
  invocations: number;
  done: boolean;
  /** Set when done: the image file for Finalize. */
  file?: ImageFile;
}

/**
 * ComposeOva's result ($.composed; lambdas/workflow/ova-compose.ts): a checkpoint while the ova's
 * parts are written, then the ova object, which the second HashFile pass reads.
 */
export interface ComposedOva {
  done: boolean;
  /** Calls of ComposeOva so far, this one included. */
  invocations: number;
  /** The ova object's key. */
  key: string;
  /** The ova's multipart upload while it is open. */
  uploadId?: string;
  /** Parts of the ova, and how many are in the upload. */
  parts: number;
  written: number;
  /** The vmdk's SHA256 (the manifest's line), from the first HashFile pass. */
  vmdkSha256: string;
  /** When done: the ova's bytes and ETag. */
  size?: number;
  etag?: string;
}

export class ChunkingError extends Error {
  override readonly name = 'ChunkingError';
}

/**
 * The range size and count for a source: the preferred size, raised (in whole MiB, or whole
 * `alignment` units if larger: a format's allocation unit, e.g. a vhd block of 2 MiB) to fit MAX_RANGES.
 */
export function planRanges(
  size: number,
  preferredRangeBytes: number,
  alignment = 1,
  /** The last range is merged into the one before when shorter (a vmdk range pads itself with its own grains). */
  minLastRange = 0,
): { rangeBytes: number; ranges: number } {
  if (!Number.isSafeInteger(size) || size <= 0) throw new ChunkingError(`cannot plan ranges for ${size} bytes`);
  if (!Number.isSafeInteger(alignment) || alignment < 1 || (MiB % alignment !== 0 && alignment % MiB !== 0))
    throw new ChunkingError(`a range alignment of ${alignment} bytes neither divides nor is a multiple of 1 MiB`);
  const unit = Math.max(MiB, alignment);
  let rangeBytes = Math.ceil(Math.max(MIN_PART_BYTES, preferredRangeBytes) / unit) * unit;
  if (Math.ceil(size / rangeBytes) > MAX_RANGES) rangeBytes = Math.ceil(size / MAX_RANGES / unit) * unit;
  if (rangeBytes > MAX_RANGE_BYTES)
    throw new ChunkingError(`a source of ${size} bytes would need ranges of ${rangeBytes} bytes, over ${MAX_RANGE_BYTES}`);
  let ranges = Math.ceil(size / rangeBytes);
  if (ranges > 1 && size - (ranges - 1) * rangeBytes < minLastRange) ranges--;
  if (ranges + 2 > MAX_PART_NUMBER) throw new ChunkingError(`${ranges} ranges exceed S3's ${MAX_PART_NUMBER} parts`);
  return { rangeBytes, ranges };
}

/** Where range `index`'s format index lies while the build runs (under the prefix Cleanup removes). */
export const formatIndexKey = (imageId: string, index: number): string => `images/${imageId}/.index/${index}`;

/** The multipart part number of range `index` (part 1 is the format head). */
export const partNumberOf = (index: number): number => index + 2;

/** Source bytes [start, end) of range `index` (the last of `ranges` runs to the end: see planRanges' minLastRange). */
export function rangeBounds(index: number, rangeBytes: number, size: number, ranges?: number): { start: number; end: number } {
  const start = index * rangeBytes;
  return { start, end: index === (ranges ?? Number.NaN) - 1 ? size : Math.min(size, start + rangeBytes) };
}
