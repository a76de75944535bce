/**
 * VMDK hosted sparse extents (VMware's "Virtual Disk Format 5.0"): writers for streamOptimized and
 * monolithicSparse, and a reader for both (and any single-file sparse extent).
 *
 * streamOptimized is the format OVF tools and vCenter import and was designed to be written as a
 * stream: header (grain directory "at end") + embedded descriptor, then each non-zero grain as a
 * grain marker (its disk sector, its compressed size) and zlib-deflated data padded to a sector;
 * after every 512 grains (32 MiB of disk) a grain-table marker and that grain table; at the end a
 * grain-directory marker and the directory, a footer marker and a copy of the header that locates
 * the directory, and an end-of-stream marker. Nothing at the front depends on the data: headSize 0.
 * Grains are deflated in parallel on the thread pool and written in order; grains that look
 * incompressible are deflated at level 0 (stored), skipping the slow and useless match search.
 *
 * monolithicSparse: header, descriptor and grain directory at the front (head, whose directory
 * entries are filled in once the body has ended), then per 512 grains the non-zero grains (64 KiB,
 * uncompressed) followed by their grain table. All-zero grains are left unallocated in both.
 * Every grain table is written, even an empty one, as VMware's own tools do.
 */
import * as zlib from 'node:zlib';
import { looksIncompressible } from '../members';
import { DeflatePool } from './deflate';
import {
  DiskFormatError,
  blockRuns,
  blockRunsRetain,
  blocks,
  blocksRetain,
  cachedSource,
  checkDiskRange,
  defaultConcurrency,
  orderedMap,
  roundUp,
  splitZeros,
  SECTOR,
  trimPieces,
  zeros,
  type Block,
  type DiskReader,
  type DiskWriter,
  type RandomAccessSource,
  type RawSource,
} from './stage';

const GRAIN_SECTORS = 128;
const GRAIN = GRAIN_SECTORS * SECTOR;
const GT_ENTRIES = 512;
const GT_BYTES = GT_ENTRIES * 4;
const GD_AT_END = 0xffff_ffff_ffff_ffffn;
const FLAG_NEWLINE_TEST = 1;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
const MARKER_EOS = 0;
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;
/** Sectors reserved for the embedded descriptor. */
const DESCRIPTOR_SECTORS = 20;
/** Grain directory entries are 32-bit sector numbers: 2 TiB of file. */
const MAX_VIRTUAL = 2 * 1024 ** 4 - GRAIN;

export type VmdkVariant = 'streamOptimized' | 'monolithicSparse';

export interface VmdkWriterOptions {
  virtualSize: number;
  subformat?: VmdkVariant;
  /** The extent file name in the embedded descriptor (the file's own name), default "disk.vmdk". */
  fileName?: string;
  level?: number;
  concurrency?: number;
}

function descriptor(createType: VmdkVariant, sectors: number, fileName: string): Buffer {
  const cylinders = Math.min(65535, Math.max(1, Math.floor(sectors / (16 * 63))));
  const cid = ((sectors * 2654435761) >>> 0).toString(16).padStart(8, '0');
  const text = [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${cid}`,
    'parentCID=ffffffff',
    `createType="${createType}"`,
    '',
    '# Extent description',
    `RW ${sectors} SPARSE "${fileName.replace(/["\r\n]/g, '_')}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    'ddb.geometry.heads = "16"',
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "lsilogic"',
    '',
  ].join('\n');
  const out = Buffer.alloc(DESCRIPTOR_SECTORS * SECTOR);
  if (Buffer.byteLength(text) > out.length) throw new DiskFormatError('vmdk descriptor too long');
  out.write(text, 'utf8');
  return out;
}

interface HeaderFields {
  version: number;
  flags: number;
  sectors: number;
  gdSector: bigint;
  overheadSectors: number;
}

function sparseHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(f.version, 4);
  h.writeUInt32LE(f.flags, 8);
  h.writeBigUInt64LE(BigInt(f.sectors), 12);
  h.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
  h.writeBigUInt64LE(1n, 28); // descriptor offset
  h.writeBigUInt64LE(BigInt(DESCRIPTOR_SECTORS), 36);
  h.writeUInt32LE(GT_ENTRIES, 44);
  h.writeBigUInt64LE(0n, 48); // no redundant grain directory
  h.writeBigUInt64LE(f.gdSector, 56);
  h.writeBigUInt64LE(BigInt(f.overheadSectors), 64);
  h[72] = 0; // clean shutdown
  h[73] = 0x0a; // '\n'
  h[74] = 0x20; // ' '
  h[75] = 0x0d; // '\r'
  h[76] = 0x0a; // '\n'
  h.writeUInt16LE(f.flags & FLAG_COMPRESSED ? 1 : 0, 77); // deflate
  return h;
}

function marker(type: number, sectors: number): Buffer {
  const m = Buffer.alloc(SECTOR);
  m.writeBigUInt64LE(BigInt(sectors), 0);
  m.writeUInt32LE(0, 8);
  m.writeUInt32LE(type, 12);
  return m;
}

export function createVmdkWriter(opts: VmdkWriterOptions): DiskWriter {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_VIRTUAL)
    throw new RangeError(`invalid vmdk virtual size ${size} (at most 2 TiB)`);
  const virtualSize = roundUp(size, SECTOR);
  const sectors = virtualSize / SECTOR;
  const grains = Math.ceil(virtualSize / GRAIN);
  const tables = Math.max(1, Math.ceil(grains / GT_ENTRIES));
  const variant = opts.subformat ?? 'streamOptimized';
  const desc = descriptor(variant, sectors, opts.fileName ?? 'disk.vmdk');
  const level = opts.level ?? 6;
  const concurrency = opts.concurrency ?? defaultConcurrency();
  return variant === 'streamOptimized' ? streamOptimized() : monolithicSparse();

  function streamOptimized(): DiskWriter {
    const flags = FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS;
    const overheadSectors = roundUp(1 + DESCRIPTOR_SECTORS, GRAIN_SECTORS);
    const fields = { version: 3, flags, sectors, overheadSectors };
    return {
      format: 'vmdk',
      virtualSize,
      headSize: 0,
      retainBytes: blocksRetain(GRAIN, concurrency * 2),
      head: () => Buffer.alloc(0),
      async *write(raw: RawSource) {
        yield sparseHeader({ ...fields, gdSector: GD_AT_END });
        yield desc;
        yield zeros((overheadSectors - 1 - DESCRIPTOR_SECTORS) * SECTOR);
        let sector = overheadSectors; // next free sector
        const gd = Buffer.alloc(roundUp(tables * 4, SECTOR));
        let gt = Buffer.alloc(GT_BYTES);
        let table = 0;
        const out: Buffer[] = [];
        const putTable = (): void => {
          out.push(marker(MARKER_GT, GT_BYTES / SECTOR));
          gd.writeUInt32LE(sector + 1, table * 4);
          out.push(gt);
          sector += 1 + GT_BYTES / SECTOR;
          gt = Buffer.alloc(GT_BYTES);
          table++;
        };
        const deflater = new DeflatePool('zlib', level, concurrency * 2);
        const storer = new DeflatePool('zlib', 0, concurrency * 2);
        const encode = async (block: Block): Promise<{ block: Block; deflated?: Buffer }> => {
          if (block.zero) return { block };
          const stored = looksIncompressible(block.data, 0, block.data.length);
          return { block, deflated: await (stored ? storer : deflater).deflate(block.data) };
        };
        try {
          for await (const { block, deflated } of orderedMap(blocks(raw, size, GRAIN), encode, concurrency * 2)) {
            while (Math.floor(block.index / GT_ENTRIES) > table) putTable();
            if (deflated) {
              const bytes = roundUp(12 + deflated.length, SECTOR);
              const grain = Buffer.alloc(bytes);
              grain.writeBigUInt64LE(BigInt(block.index * GRAIN_SECTORS), 0);
              grain.writeUInt32LE(deflated.length, 8);
              deflated.copy(grain, 12);
              gt.writeUInt32LE(sector, (block.index % GT_ENTRIES) * 4);
              out.push(grain);
              sector += bytes / SECTOR;
            }
            if (out.length > 0) yield* out.splice(0);
          }
        } finally {
          deflater.close();
          storer.close();
        }
        while (table < tables) putTable();
        out.push(marker(MARKER_GD, gd.length / SECTOR));
        const gdSector = sector + 1;
        out.push(gd);
        out.push(marker(MARKER_FOOTER, 1));
        out.push(sparseHeader({ ...fields, gdSector: BigInt(gdSector) }));
        out.push(marker(MARKER_EOS, 0));
        yield* out.splice(0);
      },
    };
  }

  function monolithicSparse(): DiskWriter {
    const flags = FLAG_NEWLINE_TEST;
    const gdSector = 1 + DESCRIPTOR_SECTORS;
    const gdSectors = roundUp(tables * 4, SECTOR) / SECTOR;
    const overheadSectors = roundUp(gdSector + gdSectors, GRAIN_SECTORS);
    const gd = Buffer.alloc(gdSectors * SECTOR);
    let finished = false;
    return {
      format: 'vmdk',
      virtualSize,
      headSize: overheadSectors * SECTOR,
      retainBytes: blockRunsRetain(GRAIN, { alignBlocks: GT_ENTRIES }),
      head() {
        if (!finished) throw new Error('vmdk head() before the body ended');
        const head = Buffer.alloc(overheadSectors * SECTOR);
        sparseHeader({ version: 1, flags, sectors, gdSector: BigInt(gdSector), overheadSectors }).copy(head, 0);
        desc.copy(head, SECTOR);
        gd.copy(head, gdSector * SECTOR);
        return head;
      },
      async *write(raw: RawSource) {
        yield zeros(overheadSectors * SECTOR);
        let sector = overheadSectors;
        let gt = Buffer.alloc(GT_BYTES);
        let table = 0;
        const out: Buffer[] = [];
        const putTable = (): void => {
          gd.writeUInt32LE(sector, table * 4);
          out.push(gt);
          sector += GT_BYTES / SECTOR;
          gt = Buffer.alloc(GT_BYTES);
          table++;
        };
        // runs of data grains go out as the source's own buffers (a run stays inside one grain table)
        for await (const run of blockRuns(raw, size, GRAIN, { alignBlocks: GT_ENTRIES })) {
          while (Math.floor(run.first / GT_ENTRIES) > table) putTable();
          if (!run.zero) {
            for (let i = 0; i < run.count; i++) gt.writeUInt32LE(sector + i * GRAIN_SECTORS, ((run.first + i) % GT_ENTRIES) * 4);
            for (const p of run.pieces) out.push(p);
            sector += run.count * GRAIN_SECTORS;
          }
          if (out.length > 0) yield* out.splice(0);
        }
        while (table < tables) putTable();
        yield* out.splice(0);
        finished = true;
      },
    };
  }
}

// ——— reader ———

type Piece = { zero: number } | { at: number; length: number } | { markerAt: number; length: number };

export async function openVmdk(file: RandomAccessSource, opts: { concurrency?: number } = {}): Promise<DiskReader> {
  const source = cachedSource(file);
  const first = await source.read(0, Math.min(file.size, SECTOR));
  if (first.toString('latin1', 0, 21) === '# Disk DescriptorFile') {
    throw new DiskFormatError(
      'this vmdk is a descriptor that refers to separate extent files; use a single-file vmdk (streamOptimized or monolithicSparse)',
    );
  }
  if (first.length < 80 || first.toString('latin1', 0, 4) !== 'KDMV') throw new DiskFormatError('not a vmdk sparse extent');
  let header = first;
  if (header.readBigUInt64LE(56) === GD_AT_END) {
    if (file.size < 3 * SECTOR) throw new DiskFormatError('vmdk: grain directory at end, but no footer');
    header = await source.read(file.size - 2 * SECTOR, SECTOR);
    if (header.toString('latin1', 0, 4) !== 'KDMV' || header.readBigUInt64LE(56) === GD_AT_END)
      throw new DiskFormatError('vmdk: the footer is missing or invalid');
  }
  const version = header.readUInt32LE(4);
  if (version < 1 || version > 3) throw new DiskFormatError(`vmdk version ${version} is not supported`);
  const flags = header.readUInt32LE(8);
  const capacity = Number(header.readBigUInt64LE(12));
  const grainSectors = Number(header.readBigUInt64LE(20));
  const gtEntries = header.readUInt32LE(44);
  const gdSector = Number(header.readBigUInt64LE(56));
  const compressed = (flags & FLAG_COMPRESSED) !== 0;
  if (compressed && !(flags & FLAG_MARKERS)) throw new DiskFormatError('vmdk: compressed grains without markers are not supported');
  if (compressed && header.readUInt16LE(77) !== 1)
    throw new DiskFormatError(`vmdk compression algorithm ${header.readUInt16LE(77)} is not supported`);
  if (
    !Number.isSafeInteger(capacity * SECTOR) ||
    grainSectors < 1 ||
    grainSectors > 2048 ||
    (grainSectors & (grainSectors - 1)) !== 0 ||
    gtEntries < 1 ||
    gtEntries > 4096
  ) {
    throw new DiskFormatError('vmdk: implausible header fields');
  }
  const virtualSize = capacity * SECTOR;
  const grain = grainSectors * SECTOR;
  const grains = Math.ceil(capacity / grainSectors);
  const tableCount = Math.ceil(grains / gtEntries);
  if (gdSector * SECTOR + tableCount * 4 > file.size) throw new DiskFormatError('vmdk: the grain directory lies outside the file');
  const gd = await source.read(gdSector * SECTOR, tableCount * 4);
  const concurrency = opts.concurrency ?? defaultConcurrency();

  /** Grains [from, to) of the disk as pieces in order; reads only the grain tables that map them. */
  async function* pieces(from: number, to: number): AsyncGenerator<Piece> {
    let zero = 0;
    let run: { at: number; length: number } | undefined;
    const flush = function* (): Generator<Piece> {
      if (zero > 0) yield { zero };
      zero = 0;
      if (run) yield run;
      run = undefined;
    };
    for (let t = Math.floor(from / gtEntries); t * gtEntries < to; t++) {
      const gtSector = gd.readUInt32LE(t * 4);
      // entries [first, last) of grain table t
      const first = Math.max(0, from - t * gtEntries);
      const last = Math.min(gtEntries, to - t * gtEntries);
      if (gtSector !== 0 && gtSector * SECTOR + gtEntries * 4 > file.size)
        throw new DiskFormatError(`vmdk: grain table ${t} at sector ${gtSector} lies outside the file`);
      const gt = gtSector === 0 ? undefined : await source.read(gtSector * SECTOR, gtEntries * 4);
      for (let j = first; j < last; j++) {
        const index = t * gtEntries + j;
        const length = Math.min(grain, virtualSize - index * grain);
        const entry = gt ? gt.readUInt32LE(j * 4) : 0;
        if (entry <= 1) {
          // 0: unallocated, 1: a zeroed grain; both read as zeros (no parent disk)
          if (run) yield* flush();
          zero += length;
          continue;
        }
        const at = entry * SECTOR;
        if (compressed) {
          yield* flush();
          yield { markerAt: at, length };
          continue;
        }
        if (at + length > file.size) throw new DiskFormatError('vmdk: a grain lies outside the file');
        if (zero > 0) yield* flush();
        if (run && run.at + run.length === at && run.length % grain === 0 && run.length < 8 * 1024 * 1024) run.length += length;
        else {
          yield* flush();
          run = { at, length };
        }
      }
    }
    yield* flush();
  }

  const load = async (p: Piece): Promise<Buffer> => {
    if ('zero' in p) return zeros(p.zero);
    if ('at' in p) return file.read(p.at, p.length);
    if (p.markerAt + 12 > file.size) throw new DiskFormatError('vmdk: a grain lies outside the file');
    const m = await source.read(p.markerAt, 12);
    const dataSize = m.readUInt32LE(8);
    if (p.markerAt + 12 + dataSize > file.size) throw new DiskFormatError('vmdk: a grain lies outside the file');
    const data = await source.read(p.markerAt + 12, dataSize);
    const inflated = await new Promise<Buffer>((resolve, reject) =>
      zlib.inflate(data, { chunkSize: grain }, (err, out) =>
        err ? reject(new DiskFormatError(`vmdk: a grain does not inflate: ${err.message}`)) : resolve(out),
      ),
    );
    if (inflated.length < p.length) throw new DiskFormatError('vmdk: a grain inflates to less than its size');
    return inflated.subarray(0, p.length);
  };

  return {
    format: 'vmdk',
    virtualSize,
    async *stream() {
      for await (const buf of orderedMap(splitZeros(pieces(0, grains)), load, concurrency * 2)) yield buf;
    },
    streamRange(start, end) {
      checkDiskRange(start, end, virtualSize);
      const from = Math.floor(start / grain);
      const to = Math.ceil(end / grain);
      return trimPieces(orderedMap(splitZeros(pieces(from, to)), load, concurrency * 2), start - from * grain, end - start);
    },
  };
}

// ——— for the range builds (vmdk-ranges.ts) ———

export const VMDK_LAYOUT = {
  GRAIN,
  GRAIN_SECTORS,
  GT_ENTRIES,
  GT_BYTES,
  GD_AT_END,
  DESCRIPTOR_SECTORS,
  MAX_VIRTUAL,
  STREAM_FLAGS: FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS,
  SPARSE_FLAGS: FLAG_NEWLINE_TEST,
  MARKER_EOS,
  MARKER_GT,
  MARKER_GD,
  MARKER_FOOTER,
} as const;
export { descriptor as vmdkDescriptor, marker as vmdkMarker, sparseHeader as vmdkSparseHeader };
