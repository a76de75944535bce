/** The disk formats a chunked build can write by ranges (the contract: ranges.ts). */
import type { OutputSpec } from './index';
import { createQcow2RangeFormat } from './qcow2-ranges';
import type { RangeFormat } from './ranges';
import { createVhdRangeFormat } from './vhd-ranges';
import { createVmdkSparseRangeFormat, createVmdkStreamRangeFormat } from './vmdk-ranges';

export type { AssembledTables, EncodedRange, RangeFormat, RangeInput } from './ranges';

/** The range formats (the others still build in one invocation: docs/decisions/disk-formats.md). */
export function rangeFormat(spec: OutputSpec, diskSize: number): RangeFormat | undefined {
  switch (spec.format) {
    case 'qcow2':
      return createQcow2RangeFormat({ virtualSize: diskSize, compressed: spec.compressed ?? false });
    case 'vhd':
      return createVhdRangeFormat({ virtualSize: diskSize, subformat: spec.subformat ?? 'dynamic' });
    case 'vmdk':
      return (spec.subformat ?? 'streamOptimized') === 'streamOptimized'
        ? createVmdkStreamRangeFormat({ virtualSize: diskSize })
        : createVmdkSparseRangeFormat({ virtualSize: diskSize });
    default:
      return undefined;
  }
}

/** The output formats a chunked build writes (the build workflow's ChunkableFormat choice): all but ova. */
export const RANGE_FORMATS = ['raw', 'qcow2', 'vhd', 'vmdk'] as const;

/** Whether a build of `spec` may run in ranges. */
export const supportsRanges = (spec: OutputSpec | undefined): boolean =>
  !spec || (RANGE_FORMATS as readonly string[]).includes(spec.format);
