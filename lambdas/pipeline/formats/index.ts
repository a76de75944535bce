/**
 * Disk formats: writers (raw disk → file) and readers (file → raw disk) by format name, and each
 * output's file extension and content type. A writer is a streaming stage between the disk reader
 * and the sink (see stage.ts for the contract, docs/decisions/disk-formats.md for the layouts and the
 * chunked-build contract):
 *
 *   const writer = createWriter({ format: 'qcow2', compressed: true }, { virtualSize });
 *   for await (const bytes of writer.write(rawDisk)) await sink.write(bytes);
 *   if (writer.headSize > 0) await sink.writeHead(writer.head());
 *
 * `buildImageFile({ ..., output: { format: 'vmdk', subformat: 'streamOptimized' } })` does exactly
 * that, hashing and uploading the result.
 */
import type { TargetDiskFormat } from '../../core/image';
import { createOvaWriter, openOva } from './ova';
import { createQcow2Writer, openQcow2 } from './qcow2';
import { createRawWriter, openRaw } from './raw';
import { createVhdWriter, openVhd } from './vhd';
import { createVmdkWriter, openVmdk } from './vmdk';
import { DiskFormatError, type DiskReader, type DiskWriter, type RandomAccessSource } from './stage';

export {
  DiskFormatError,
  bufferSource,
  cachedSource,
  collect,
  type DiskReader,
  type DiskWriter,
  type RandomAccessSource,
  type RawSource,
} from './stage';
export { qcow2Layout } from './qcow2';

/** What the writers produce. */
export const OUTPUT_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhd', 'ova'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const VMDK_SUBFORMATS = ['streamOptimized', 'monolithicSparse'] as const;
export type VmdkSubformat = (typeof VMDK_SUBFORMATS)[number];
export const VHD_SUBFORMATS = ['dynamic', 'fixed'] as const;
export type VhdSubformat = (typeof VHD_SUBFORMATS)[number];

/** One output: the format and its variant (defaults: qcow2 plain, vmdk streamOptimized, vhd dynamic). */
export type OutputSpec = TargetDiskFormat;

/** The virtual machine an OVA describes around its disk (name also names the files inside). */
export type OvaOptions = NonNullable<Extract<TargetDiskFormat, { format: 'ova' }>['ova']>;

export interface WriterOptions {
  /** Bytes of the raw disk the writer will be given (the file declares it rounded up to 512). */
  virtualSize: number;
  /** zlib level for compressed clusters/grains, default 4 for qcow2 clusters (qcow2.ts), 6 for vmdk grains. */
  level?: number;
  /** Deflates in flight, default one per core. */
  concurrency?: number;
}

/** Readable formats (iso is read as raw bytes; an ova's disk is its vmdk). */
export const READABLE_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhd', 'ova'] as const;
export type ReadableFormat = (typeof READABLE_FORMATS)[number];

export function normalizeSpec(spec: OutputSpec): OutputSpec {
  switch (spec.format) {
    case 'qcow2':
      return { format: 'qcow2', compressed: spec.compressed ?? false };
    case 'vmdk':
      return { format: 'vmdk', subformat: spec.subformat ?? 'streamOptimized' };
    case 'vhd':
      return { format: 'vhd', subformat: spec.subformat ?? 'dynamic' };
    default:
      return spec;
  }
}

export function createWriter(spec: OutputSpec, opts: WriterOptions): DiskWriter {
  switch (spec.format) {
    case 'raw':
      return createRawWriter(opts);
    case 'qcow2':
      return createQcow2Writer({ ...opts, compressed: spec.compressed });
    case 'vmdk':
      return createVmdkWriter({ ...opts, subformat: spec.subformat });
    case 'vhd':
      return createVhdWriter({ ...opts, subformat: spec.subformat });
    case 'ova':
      return createOvaWriter({ ...opts, ...spec.ova });
    default:
      throw new DiskFormatError(`writing ${String((spec as { format: unknown }).format)} is not supported`);
  }
}

/**
 * The writer's buffer-reuse bound (DiskWriter.retainBytes) for a disk of `virtualSize`: what to pass
 * to a reader's `stream({ retainBytes })` when its output feeds buildImageFile with this output.
 */
export const writerRetainBytes = (spec: OutputSpec, opts: WriterOptions): number => createWriter(spec, opts).retainBytes;

/** Opens a stored file of `format` for reading as a raw disk. */
export async function openDisk(format: ReadableFormat | 'iso', source: RandomAccessSource): Promise<DiskReader> {
  switch (format) {
    case 'raw':
    case 'iso':
      return openRaw(source);
    case 'qcow2':
      return openQcow2(source);
    case 'vmdk':
      return openVmdk(source);
    case 'vhd':
      return openVhd(source);
    case 'ova':
      return openOva(source);
    default:
      throw new DiskFormatError(`reading ${String(format)} is not a disk format`);
  }
}

export interface FileInfo {
  /** File name extension without the dot. */
  extension: string;
  contentType: string;
}

const FILE_INFO: Record<OutputFormat, FileInfo> = {
  raw: { extension: 'raw', contentType: 'application/octet-stream' },
  qcow2: { extension: 'qcow2', contentType: 'application/x-qemu-disk' },
  vmdk: { extension: 'vmdk', contentType: 'application/x-vmdk' },
  vhd: { extension: 'vhd', contentType: 'application/x-vhd' },
  ova: { extension: 'ova', contentType: 'application/x-tar' },
};

export const fileInfo = (format: OutputFormat): FileInfo => FILE_INFO[format];
