/** The disk formats a chunked build can write by ranges (the contract: ranges.ts). */
import type { OutputSpec } from './index';
import { ovaDiskFile } from './ova';
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
    case 'ova':
      // the ova's vmdk, built like a streamOptimized vmdk and named as the ova names it; the tar
      // around it is composed after its hash pass (lambdas/workflow/tasks/compose-ova.ts)
      return createVmdkStreamRangeFormat({ virtualSize: diskSize, fileName: ovaDiskFile(spec.ova?.name) });
    default:
      return undefined;
  }
}

/** The output formats a chunked build writes (the build workflow's ChunkableFormat choice), whatever the compression. */
export const RANGE_FORMATS = ['raw', 'qcow2', 'vhd', 'vmdk'] as const;
/**
 * Formats built by ranges only uncompressed: an ova, whose manifest needs its vmdk's SHA256, hashed
 * from the stored vmdk (a gzipped ova stays in one invocation: docs/decisions/disk-formats.md).
 */
export const UNCOMPRESSED_RANGE_FORMATS = ['ova'] as const;

/** Whether a build of `spec` with `compression` may run in ranges. */
export const supportsRanges = (spec: OutputSpec | undefined, compression: 'gzip' | 'none' = 'none'): boolean =>
  !spec ||
  (RANGE_FORMATS as readonly string[]).includes(spec.format) ||
  (compression === 'none' && (UNCOMPRESSED_RANGE_FORMATS as readonly string[]).includes(spec.format));
