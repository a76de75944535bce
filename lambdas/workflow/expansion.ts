/**
 * Expansion in ranges (docs/decisions/async-provisioning.md): a machine's disk made from an image file
 * that was built in ranges (it has a range index, lambdas/workflow/range-index.ts) and whose disk is at
 * least the chunking threshold is expanded by a Map of bounded invocations, one per build range, into
 * ONE multipart upload of the disk: range i of the disk is part i + 1.
 *
 *   StartExpansion ($.expansion) → ExpandRanges (inline Map of ExpandRange, MaxConcurrency, result
 *   discarded) → CompleteDisk ($.expanded)
 *
 * Every read of the file is pinned to the ETag StartExpansion saw, so all ranges come from one version
 * of it; each range is checked against the index (its length and MD5 in the file, its raw length) and,
 * when gzip, by gunzip's own CRC-32 and length of every member.
 */
import type { ImageFile } from '../core/image';
import type { ProvisionState } from './provision-state';

/** StartExpansion's result ($.expansion). */
export interface ExpansionUpload {
  /** The disk's upload (disks bucket). */
  key: string;
  uploadId: string;
  /** The image file's ETag when the expansion started: every ranged GET is pinned to it. */
  fileEtag: string;
  ranges: number;
  rawSize: number;
  /** 0 … ranges-1: the Map state's items. */
  items: number[];
}

/** One Map iteration's input (the Map's ItemSelector). */
export interface ExpandRangeTask {
  machineId: string;
  index: number;
  file: ImageFile;
  upload: Omit<ExpansionUpload, 'items'>;
}

export type ExpansionState = ProvisionState & { expansion: ExpansionUpload };

/** The disk's part number of range `index`. */
export const diskPartNumberOf = (index: number): number => index + 1;
