/**
 * vmdk streamOptimized by ranges (the contract: ranges.ts), with the stream writer's header,
 * descriptor, markers and grain encoding (vmdk.ts: zlib at level 6, incompressible-looking grains
 * stored at level 0, each grain a 12-byte marker — its disk sector and compressed size — and the
 * deflated bytes, padded to a sector):
 *
 *   head (part 1):  header ("grain directory at end") | descriptor | zeros up to the overhead, which
 *                   is raised to minHeadBytes when the head must be that large (the header's
 *                   overhead field says where the grains start; readers skip to it)
 *   data part i:    range i's non-zero grains in disk order
 *   tail:           every grain table (a grain-table marker and the table), the grain-directory marker
 *                   and directory, the footer marker and footer (the header, naming the directory),
 *                   the end-of-stream marker
 *
 * Padding a part must not leave zeros between grains: a stream reader would take a zero sector for an
 * end-of-stream marker. So a range pads with real grains: first its all-zero grains, stored (deflate
 * level 0, 129 sectors each) and named by the grain tables like any other, then its compressed grains
 * stored instead. A range of at least 5 MiB has 80 grains, which stored come to 5.04 MiB: every range
 * that must be padded is at least 5 MiB (planRanges keeps the last one so: `minLastRange`).
 *
 * Index: per grain of the range, its sector in the part + 1 (0: unallocated).
 */
import { looksIncompressible } from '../members';
import { DeflatePool } from './deflate';
import { packIndex, unpackIndex, type AssembledTables, type EncodedRange, type RangeFormat, type RangeInput } from './ranges';
import { DiskFormatError, SECTOR, blockRuns, blocks, defaultConcurrency, orderedMap, roundUp, zeros, type Block } from './stage';
import { VMDK_LAYOUT as L, vmdkDescriptor, vmdkMarker, vmdkSparseHeader } from './vmdk';

export interface VmdkRangeOptions {
  virtualSize: number;
  /** The extent file name in the embedded descriptor, default "disk.vmdk" (as the stream writer's). */
  fileName?: string;
  level?: number;
  concurrency?: number;
}

/** A grain as written: marker (disk sector, compressed size) + deflated bytes, padded to a sector. */
function grainBytes(index: number, deflated: Buffer): Buffer {
  const grain = Buffer.alloc(roundUp(12 + deflated.length, SECTOR));
  grain.writeBigUInt64LE(BigInt(index * L.GRAIN_SECTORS), 0);
  grain.writeUInt32LE(deflated.length, 8);
  deflated.copy(grain, 12);
  return grain;
}

/** The ranges' indexes, checked to cover the disk's grains with data parts of whole sectors. */
function checkedRanges(indexes: Buffer[], grains: number): ReturnType<typeof unpackIndex>[] {
  const ranges = indexes.map(unpackIndex);
  const total = ranges.reduce((n, r) => n + r.entries.length / 4, 0);
  if (total !== grains) throw new DiskFormatError(`vmdk range indexes cover ${total} grains, the disk has ${grains}`);
  if (ranges.some((r) => r.length % SECTOR !== 0)) throw new DiskFormatError('a vmdk range data part is not whole sectors');
  return ranges;
}

/**
 * The grain tables of both subformats: each allocated grain's sector in the file, its range's data
 * part placed after the head (`overheadSectors`) and the parts before it; and `base`, the first sector
 * after the last data part.
 */
function grainTables(ranges: ReturnType<typeof unpackIndex>[], tables: number, overheadSectors: number): { gts: Buffer; base: number } {
  const gts = Buffer.alloc(tables * L.GT_BYTES);
  let base = overheadSectors;
  let g = 0;
  for (const { entries, length } of ranges) {
    for (let j = 0; j < entries.length; j += 4, g++) {
      const rel = entries.readUInt32LE(j);
      if (rel === 0) continue;
      const at = base + rel - 1;
      if (at >= 2 ** 32) throw new DiskFormatError('a vmdk grain lies past what a grain table entry can name');
      gts.writeUInt32LE(at, g * 4);
    }
    base += length / SECTOR;
  }
  return { gts, base };
}

export function createVmdkStreamRangeFormat(opts: VmdkRangeOptions): RangeFormat {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > L.MAX_VIRTUAL)
    throw new RangeError(`invalid vmdk virtual size ${size} (at most 2 TiB)`);
  const virtualSize = roundUp(size, SECTOR);
  const sectors = virtualSize / SECTOR;
  const grains = Math.ceil(virtualSize / L.GRAIN);
  const tables = Math.max(1, Math.ceil(grains / L.GT_ENTRIES));
  const level = opts.level ?? 6;
  const concurrency = opts.concurrency ?? defaultConcurrency();

  async function encodeRange({ raw, start, end, padTo = 0 }: RangeInput): Promise<EncodedRange> {
    if (start % L.GRAIN !== 0 || start < 0 || end > size || end <= start || (end !== size && end % L.GRAIN !== 0))
      throw new RangeError(`vmdk range [${start}, ${end}) of a ${size}-byte disk is not aligned to its ${L.GRAIN}-byte grains`);
    const first = start / L.GRAIN;
    const count = Math.ceil((end - start) / L.GRAIN);
    const encoded = new Array<Buffer | undefined>(count);
    let length = 0;
    const deflater = new DeflatePool('zlib', level, concurrency * 2);
    const storer = new DeflatePool('zlib', 0, concurrency * 2);
    const encode = async (block: Block): Promise<{ block: Block; deflated?: Buffer }> => {
      if (block.zero) return { block };
      const stored = looksIncompressible(block.data, 0, block.data.length);
      return { block, deflated: await (stored ? storer : deflater).deflate(block.data) };
    };
    // the grains' bytes, kept only when the part may have to be padded
    const data = padTo > 0 ? new Array<Buffer | undefined>(count) : undefined;
    let zeroGrain: Buffer | undefined;
    try {
      for await (const { block, deflated } of orderedMap(blocks(raw, end - start, L.GRAIN), encode, concurrency * 2)) {
        if (!deflated) continue;
        encoded[block.index] = grainBytes(first + block.index, deflated);
        length += encoded[block.index]!.length;
        if (data) data[block.index] = block.data;
      }
      // padding, until the part is large enough: first the range's all-zero grains, stored; then its
      // compressed grains stored instead (a stored grain is 129 sectors, the most a grain takes)
      for (let i = 0; i < count && length < padTo; i++) {
        if (encoded[i]) continue;
        zeroGrain ??= await storer.deflate(Buffer.alloc(L.GRAIN));
        encoded[i] = grainBytes(first + i, zeroGrain);
        length += encoded[i]!.length;
      }
      for (let i = 0; i < count && length < padTo; i++) {
        const before = encoded[i]!.length;
        const stored = data?.[i] ? grainBytes(first + i, await storer.deflate(data[i]!)) : undefined;
        if (!stored || stored.length <= before) continue;
        encoded[i] = stored;
        length += stored.length - before;
      }
    } finally {
      deflater.close();
      storer.close();
    }
    if (length < padTo) throw new RangeError(`a vmdk range of ${end - start} bytes cannot be padded to ${padTo} bytes`);
    const entries = Buffer.alloc(count * 4);
    const parts: Buffer[] = [];
    let sector = 0;
    for (let i = 0; i < count; i++) {
      const grain = encoded[i];
      if (!grain) continue;
      entries.writeUInt32LE(sector + 1, i * 4);
      parts.push(grain);
      sector += grain.length / SECTOR;
    }
    return { parts, length, index: packIndex(length, entries) };
  }

  function assemble(indexes: Buffer[], { minHeadBytes = 0 } = {}): AssembledTables {
    const ranges = checkedRanges(indexes, grains);
    const overheadSectors = roundUp(Math.max(1 + L.DESCRIPTOR_SECTORS, Math.ceil(minHeadBytes / SECTOR)), L.GRAIN_SECTORS);
    const fields = { version: 3, flags: L.STREAM_FLAGS, sectors, overheadSectors };
    const { gts, base } = grainTables(ranges, tables, overheadSectors);
    const tail: Buffer[] = [];
    const gd = Buffer.alloc(roundUp(tables * 4, SECTOR));
    let sector = base; // the tail's first sector
    for (let t = 0; t < tables; t++) {
      tail.push(vmdkMarker(L.MARKER_GT, L.GT_BYTES / SECTOR), gts.subarray(t * L.GT_BYTES, (t + 1) * L.GT_BYTES));
      gd.writeUInt32LE(sector + 1, t * 4);
      sector += 1 + L.GT_BYTES / SECTOR;
    }
    tail.push(vmdkMarker(L.MARKER_GD, gd.length / SECTOR), gd);
    const gdSector = sector + 1;
    tail.push(vmdkMarker(L.MARKER_FOOTER, 1), vmdkSparseHeader({ ...fields, gdSector: BigInt(gdSector) }), vmdkMarker(L.MARKER_EOS, 0));
    const head = Buffer.alloc(overheadSectors * SECTOR);
    vmdkSparseHeader({ ...fields, gdSector: L.GD_AT_END }).copy(head, 0);
    vmdkDescriptor('streamOptimized', sectors, opts.fileName ?? 'disk.vmdk').copy(head, SECTOR);
    return { head, tail: Buffer.concat(tail) };
  }

  return { alignment: L.GRAIN, virtualSize, hasTail: true, minLastRange: 5 * 1024 * 1024, encodeRange, assemble };
}

/**
 * vmdk monolithicSparse by ranges: the stream writer's layout with every grain table moved to the tail.
 *
 *   head (part 1):  header | descriptor | grain directory | zeros up to the overhead (≥ minHeadBytes)
 *   data part i:    range i's non-zero grains (64 KiB, uncompressed), then zeros up to padTo (space no
 *                   grain table names: readers find grains only through the tables)
 *   tail:           every grain table, even an empty one (as the stream writer and VMware's tools)
 *
 * Index: per grain of the range, its sector in the part + 1 (0: unallocated).
 */
export function createVmdkSparseRangeFormat(opts: Omit<VmdkRangeOptions, 'level' | 'concurrency'>): RangeFormat {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > L.MAX_VIRTUAL)
    throw new RangeError(`invalid vmdk virtual size ${size} (at most 2 TiB)`);
  const virtualSize = roundUp(size, SECTOR);
  const sectors = virtualSize / SECTOR;
  const grains = Math.ceil(virtualSize / L.GRAIN);
  const tables = Math.max(1, Math.ceil(grains / L.GT_ENTRIES));
  const gdSector = 1 + L.DESCRIPTOR_SECTORS;
  const gdSectors = roundUp(tables * 4, SECTOR) / SECTOR;

  async function encodeRange({ raw, start, end, padTo = 0 }: RangeInput): Promise<EncodedRange> {
    if (start % L.GRAIN !== 0 || start < 0 || end > size || end <= start || (end !== size && end % L.GRAIN !== 0))
      throw new RangeError(`vmdk range [${start}, ${end}) of a ${size}-byte disk is not aligned to its ${L.GRAIN}-byte grains`);
    const entries = Buffer.alloc(Math.ceil((end - start) / L.GRAIN) * 4);
    const parts: Buffer[] = [];
    let pos = 0;
    for await (const run of blockRuns(raw, end - start, L.GRAIN)) {
      if (run.zero) continue;
      for (let i = 0; i < run.count; i++) entries.writeUInt32LE((pos + i * L.GRAIN) / SECTOR + 1, (run.first + i) * 4);
      parts.push(...run.pieces);
      pos += run.count * L.GRAIN;
    }
    const padded = Math.max(pos, roundUp(padTo, SECTOR));
    if (padded > pos) parts.push(zeros(padded - pos));
    return { parts, length: padded, index: packIndex(padded, entries) };
  }

  function assemble(indexes: Buffer[], { minHeadBytes = 0 } = {}): AssembledTables {
    const ranges = checkedRanges(indexes, grains);
    const overheadSectors = roundUp(Math.max(gdSector + gdSectors, Math.ceil(minHeadBytes / SECTOR)), L.GRAIN_SECTORS);
    const { gts, base } = grainTables(ranges, tables, overheadSectors);
    const head = Buffer.alloc(overheadSectors * SECTOR);
    vmdkSparseHeader({ version: 1, flags: L.SPARSE_FLAGS, sectors, gdSector: BigInt(gdSector), overheadSectors }).copy(head, 0);
    vmdkDescriptor('monolithicSparse', sectors, opts.fileName ?? 'disk.vmdk').copy(head, SECTOR);
    for (let t = 0; t < tables; t++) {
      const at = base + (t * L.GT_BYTES) / SECTOR;
      if (at >= 2 ** 32) throw new DiskFormatError('a vmdk grain table lies past what the grain directory can name');
      head.writeUInt32LE(at, gdSector * SECTOR + t * 4);
    }
    return { head, tail: gts };
  }

  return { alignment: L.GRAIN, virtualSize, hasTail: true, encodeRange, assemble };
}
