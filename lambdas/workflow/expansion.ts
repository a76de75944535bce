/**
 * Expansion in ranges (docs/decisions/async-provisioning.md): a machine's disk made from a large image
 * file is expanded by a Map of bounded invocations, one per range of the disk, into ONE multipart
 * upload of the disk: range i of the disk is part i + 1. Two kinds of file take this path
 * (`expansionSource`, mirrored by the ExpansionPath Choice in lib/constructs/provision-workflow.ts):
 *
 * - `index`: a raw (or iso) file built in ranges, with a range index (lambdas/workflow/range-index.ts),
 *   whose disk is at least the chunking threshold. The ranges are the build's: range i is read with
 *   one ranged GET at its place in the file, checked against the index (its length and MD5; gunzip
 *   checks every member's CRC-32 and length when compressed).
 * - `format`: an uncompressed qcow2, vhd, vmdk or ova file whose disk is at least the threshold,
 *   with or without an index. The disk's size is the file's virtual size (its header); the ranges are
 *   planned from the workflow's range size (`$.expansionSettings`, planRanges in
 *   lambdas/workflow/chunked.ts) and each is read through the format's reader
 *   (DiskReader.streamRange, lambdas/pipeline/formats), which reads only the tables and clusters that
 *   cover it. A table or block outside the file fails the machine (SourceFormatError, as ExpandImage).
 *   Beside the ranges, VerifyImageFile checks the file's sha256 against its manifest in a checkpointed
 *   loop (`$.expansion.verify`), so no disk is completed from a file changed in storage.
 *
 *   ExpansionSettings (Pass: $.expansionSettings) → StartExpansion ($.expansion) → ExpandAndVerify
 *   (Parallel, result discarded: ExpandRanges, an inline Map of ExpandRange with MaxConcurrency ‖
 *   VerifyImageFile ⇄ VerifyDone when $.expansion.verify) → CompleteDisk ($.expanded)
 *
 * Every read of the file is pinned to the ETag StartExpansion saw, so all ranges come from one version
 * of it.
 */
import type { ImageFile } from '../core/image';
import type { ProvisionState } from './provision-state';

/** Formats expanded through their reader, range by range, when stored uncompressed. */
export const RANGE_READ_FORMATS = ['qcow2', 'vhd', 'vmdk', 'ova'] as const;
/** Formats whose range index locates disk ranges (raw bytes, gzipped or not). */
export const RANGE_INDEX_FORMATS = ['raw', 'iso'] as const;

/**
 * How a file can be expanded in ranges, whatever its size: through its range index, through its
 * format's reader, or not at all (a gzip-compressed qcow2/vhd/vmdk/ova must be read from its start).
 */
export function expansionSource(file: Pick<ImageFile, 'format' | 'compression' | 'rangeIndex'>): 'index' | 'format' | undefined {
  if (file.compression === 'none' && (RANGE_READ_FORMATS as readonly string[]).includes(file.format)) return 'format';
  if (file.rangeIndex && (RANGE_INDEX_FORMATS as readonly string[]).includes(file.format)) return 'index';
  return undefined;
}

/** What the ExpansionSettings Pass state puts in $.expansionSettings (the stack's chunking settings). */
export interface ExpansionSettings {
  /** Preferred bytes of disk per range (format files; a file with a range index keeps its build's ranges). */
  rangeBytes: number;
  /** Bytes of the file one VerifyImageFile invocation hashes at most (format files). */
  hashBytesPerInvocation: number;
}

/** VerifyImageFile's checkpoint and result ($.verified, inside the ExpandAndVerify Parallel's branch). */
export interface VerifyCheckpoint {
  /** Bytes of the file hashed so far. */
  offset: number;
  /** The saved sha256 state (hash-wasm, base64); empty when done. */
  sha256State: string;
  invocations: number;
  done: boolean;
}

/** StartExpansion's result ($.expansion). */
export interface ExpansionUpload {
  /** The disk's upload (disks bucket). */
  key: string;
  uploadId: string;
  /** The image file's ETag when the expansion started: every ranged GET is pinned to it. */
  fileEtag: string;
  ranges: number;
  /** Bytes of the disk. */
  rawSize: number;
  /** Bytes of disk per range (the last range may be longer or shorter: lambdas/workflow/chunked.ts, rangeBounds). */
  rangeBytes: number;
  /** 0 … ranges-1: the Map state's items. */
  items: number[];
  /**
   * Whether VerifyImageFile hashes the file beside the ranges: format files (their ranges are not
   * checked against recorded checksums, as an index's are).
   */
  verify: boolean;
}

/** One Map iteration's input (the Map's ItemSelector). */
export interface ExpandRangeTask {
  machineId: string;
  index: number;
  file: ImageFile;
  upload: Omit<ExpansionUpload, 'items' | 'verify'>;
}

export type ExpansionState = ProvisionState & { expansion: ExpansionUpload; expansionSettings?: ExpansionSettings };

/** The disk's part number of range `index`. */
export const diskPartNumberOf = (index: number): number => index + 1;
