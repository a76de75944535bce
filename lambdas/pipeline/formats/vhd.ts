/**
 * VHD (Microsoft's "Virtual Hard Disk Image Format Specification"): fixed and dynamic writers, and a
 * reader for both.
 *
 * fixed: the disk's bytes, then the 512-byte footer. Nothing depends on the data: headSize 0.
 * dynamic: a copy of the footer, the dynamic disk header and the block allocation table (BAT) at the
 * front — the head, sized by the virtual size; its BAT is filled in once the body has ended — then
 * each non-zero 2 MiB block as its sector bitmap (all sectors present) and its data, then the
 * footer. All-zero blocks stay unallocated (BAT entry 0xFFFFFFFF).
 *
 * The footer's "current size" is the virtual size, and the creator application is "win " (Hyper-V),
 * which tells readers to trust that size rather than the CHS geometry (qemu's vpc driver does; the
 * geometry is still filled in per the specification's algorithm for older tools).
 */
import { createHash } from 'node:crypto';
import { createRawWriter } from './raw';
import {
  DiskFormatError,
  blockRuns,
  blockRunsRetain,
  cachedSource,
  checkDiskRange,
  orderedMap,
  prefixSource,
  roundUp,
  SECTOR,
  sequentialReads,
  splitZeros,
  trimPieces,
  zeros,
  type DiskReader,
  type DiskWriter,
  type RandomAccessSource,
  type RawSource,
} from './stage';

const BLOCK = 2 * 1024 * 1024;
const BITMAP = roundUp(BLOCK / SECTOR / 8, SECTOR);
const FIXED = 2;
const DYNAMIC = 3;
const NO_BLOCK = 0xffff_ffff;
/** The specification's largest disk (geometry limit 65535 × 16 × 255 sectors, ~127 GiB for CHS; the size field allows 2040 GiB). */
const MAX_VIRTUAL = 2040 * 1024 ** 3;
const VHD_EPOCH = Date.UTC(2000, 0, 1) / 1000;

export type VhdVariant = 'fixed' | 'dynamic';

export interface VhdWriterOptions {
  virtualSize: number;
  subformat?: VhdVariant;
  /** Footer timestamp (default: now); fixed in tests for reproducible files. */
  timestamp?: Date;
}

function checksum(buf: Buffer, skipAt: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) if (i < skipAt || i >= skipAt + 4) sum += buf[i];
  return ~sum >>> 0;
}

/** The specification's CHS algorithm (Appendix: CHS calculation). */
export function vhdGeometry(size: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  const total = Math.min(Math.floor(size / SECTOR), 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

function footer(virtualSize: number, type: number, timestamp: Date): Buffer {
  const f = Buffer.alloc(SECTOR);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8); // features: reserved bit, always set
  f.writeUInt32BE(0x0001_0000, 12);
  f.writeBigUInt64BE(type === FIXED ? 0xffff_ffff_ffff_ffffn : 512n, 16);
  f.writeUInt32BE(Math.max(0, Math.floor(timestamp.getTime() / 1000 - VHD_EPOCH)) >>> 0, 24);
  f.write('win ', 28, 'latin1');
  f.writeUInt32BE(0x0006_0001, 32);
  f.write('Wi2k', 36, 'latin1');
  f.writeBigUInt64BE(BigInt(virtualSize), 40);
  f.writeBigUInt64BE(BigInt(virtualSize), 48);
  const g = vhdGeometry(virtualSize);
  f.writeUInt16BE(g.cylinders, 56);
  f[58] = g.heads;
  f[59] = g.sectorsPerTrack;
  f.writeUInt32BE(type, 60);
  // unique id: derived from the size and time, so a build is reproducible given its timestamp
  createHash('sha256').update(`${virtualSize}:${timestamp.toISOString()}`).digest().copy(f, 68, 0, 16);
  f.writeUInt32BE(checksum(f, 64), 64);
  return f;
}

export function createVhdWriter(opts: VhdWriterOptions): DiskWriter {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_VIRTUAL)
    throw new RangeError(`invalid vhd virtual size ${size} (at most 2040 GiB)`);
  const virtualSize = roundUp(size, SECTOR);
  const timestamp = opts.timestamp ?? new Date();
  const variant = opts.subformat ?? 'dynamic';

  if (variant === 'fixed') {
    return {
      format: 'vhd',
      virtualSize,
      headSize: 0,
      retainBytes: 0, // the raw writer's pieces, then the footer
      head: () => Buffer.alloc(0),
      async *write(raw: RawSource) {
        yield* createRawWriter({ virtualSize: size }).write(raw);
        yield footer(virtualSize, FIXED, timestamp);
      },
    };
  }

  const entries = Math.ceil(virtualSize / BLOCK);
  const batOffset = 3 * SECTOR;
  const bat = Buffer.alloc(roundUp(Math.max(entries, 1) * 4, SECTOR), 0xff);
  const headSize = batOffset + bat.length;
  const foot = footer(virtualSize, DYNAMIC, timestamp);
  let finished = false;
  return {
    format: 'vhd',
    virtualSize,
    headSize,
    retainBytes: blockRunsRetain(BLOCK, { maxRunBytes: BLOCK }),
    head() {
      if (!finished) throw new Error('vhd head() before the body ended');
      const dyn = Buffer.alloc(1024);
      dyn.write('cxsparse', 0, 'latin1');
      dyn.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, 8);
      dyn.writeBigUInt64BE(BigInt(batOffset), 16);
      dyn.writeUInt32BE(0x0001_0000, 24);
      dyn.writeUInt32BE(entries, 28);
      dyn.writeUInt32BE(BLOCK, 32);
      dyn.writeUInt32BE(checksum(dyn, 36), 36);
      return Buffer.concat([foot, dyn, bat]);
    },
    async *write(raw: RawSource) {
      yield zeros(headSize);
      let sector = headSize / SECTOR;
      const bitmap = Buffer.alloc(BITMAP, 0);
      bitmap.fill(0xff, 0, BLOCK / SECTOR / 8);
      // one block per data run (each needs its bitmap); its bytes are the source's own buffers
      for await (const run of blockRuns(raw, size, BLOCK, { maxRunBytes: BLOCK })) {
        if (run.zero) continue;
        bat.writeUInt32BE(sector, run.first * 4);
        yield bitmap;
        yield* run.pieces;
        sector += (BITMAP + BLOCK) / SECTOR;
      }
      yield foot;
      finished = true;
    },
  };
}

// ——— reader ———

type Piece = { zero: number } | { at: number; length: number };

export async function openVhd(file: RandomAccessSource): Promise<DiskReader> {
  const source = cachedSource(file);
  if (file.size < SECTOR) throw new DiskFormatError('not a vhd file');
  let foot = await source.read(file.size - SECTOR, SECTOR);
  if (foot.toString('latin1', 0, 8) !== 'conectix') {
    // dynamic disks start with a copy of the footer
    foot = await source.read(0, SECTOR);
    if (foot.toString('latin1', 0, 8) !== 'conectix') throw new DiskFormatError('not a vhd file (no footer)');
  }
  if (checksum(foot, 64) !== foot.readUInt32BE(64)) throw new DiskFormatError('vhd footer checksum mismatch');
  const virtualSize = Number(foot.readBigUInt64BE(48));
  const type = foot.readUInt32BE(60);
  if (!Number.isSafeInteger(virtualSize)) throw new DiskFormatError('vhd: implausible size');
  if (type === FIXED) {
    if (virtualSize + SECTOR > file.size) throw new DiskFormatError('vhd: the file is shorter than its disk');
    // the disk is the file's first virtualSize bytes
    const disk = prefixSource(file, virtualSize);
    const pieceSize = 8 * 1024 * 1024;
    return {
      format: 'vhd',
      virtualSize,
      stream: (opts) => sequentialReads(disk, { pieceSize, ahead: 4, retainBytes: opts?.retainBytes }),
      streamRange(start, end) {
        checkDiskRange(start, end, virtualSize);
        return sequentialReads(prefixSource(file, end), { from: start, pieceSize, ahead: 4 });
      },
    };
  }
  if (type === 4) throw new DiskFormatError('differencing vhd disks are not supported (merge it with its parent first)');
  if (type !== DYNAMIC) throw new DiskFormatError(`vhd disk type ${type} is not valid`);
  const dynOffset = Number(foot.readBigUInt64BE(16));
  if (!Number.isSafeInteger(dynOffset) || dynOffset + 1024 > file.size)
    throw new DiskFormatError('vhd: the dynamic header lies outside the file');
  const dyn = await source.read(dynOffset, 1024);
  if (dyn.toString('latin1', 0, 8) !== 'cxsparse') throw new DiskFormatError('vhd: dynamic header missing');
  if (checksum(dyn, 36) !== dyn.readUInt32BE(36)) throw new DiskFormatError('vhd dynamic header checksum mismatch');
  const batOffset = Number(dyn.readBigUInt64BE(16));
  const entries = dyn.readUInt32BE(28);
  const blockSize = dyn.readUInt32BE(32);
  if (blockSize < SECTOR || blockSize % SECTOR !== 0 || blockSize > 256 * 1024 * 1024)
    throw new DiskFormatError(`vhd block size ${blockSize} is not valid`);
  if (entries * blockSize < virtualSize) throw new DiskFormatError('vhd: the BAT does not cover the disk');
  if (!Number.isSafeInteger(batOffset) || batOffset + entries * 4 > file.size)
    throw new DiskFormatError('vhd: the BAT lies outside the file');
  const bitmapBytes = roundUp(blockSize / SECTOR / 8, SECTOR);
  const used = Math.ceil(virtualSize / blockSize);

  /** Blocks [from, to) as pieces in order, from their slice of the BAT. */
  async function* pieces(from: number, to: number): AsyncGenerator<Piece> {
    if (to <= from) return;
    const batTable = await source.read(batOffset + from * 4, (to - from) * 4);
    for (let i = from; i < to; i++) {
      const length = Math.min(blockSize, virtualSize - i * blockSize);
      const entry = batTable.readUInt32BE((i - from) * 4);
      if (entry === NO_BLOCK) {
        yield { zero: length };
        continue;
      }
      const at = entry * SECTOR + bitmapBytes;
      if (at + length > file.size) throw new DiskFormatError(`vhd: block ${i} lies outside the file`);
      // the sector bitmap only matters for differencing disks; a dynamic disk's block is its data
      yield { at, length };
    }
  }
  const load = async (p: Piece): Promise<Buffer> => ('zero' in p ? zeros(p.zero) : file.read(p.at, p.length));

  return {
    format: 'vhd',
    virtualSize,
    async *stream() {
      for await (const buf of orderedMap(splitZeros(pieces(0, used)), load, 4)) yield buf;
    },
    streamRange(start, end) {
      checkDiskRange(start, end, virtualSize);
      const from = Math.floor(start / blockSize);
      const to = Math.ceil(end / blockSize);
      return trimPieces(orderedMap(splitZeros(pieces(from, to)), load, 4), start - from * blockSize, end - start);
    },
  };
}

// ——— for the range builds (vhd-ranges.ts) ———

export const VHD_BLOCK = BLOCK;
export const VHD_BITMAP = BITMAP;
export const VHD_MAX_VIRTUAL = MAX_VIRTUAL;

/** The 512-byte footer of a fixed or dynamic disk of `virtualSize` (a multiple of 512). */
export const vhdFooter = (virtualSize: number, variant: VhdVariant, timestamp: Date): Buffer =>
  footer(virtualSize, variant === 'fixed' ? FIXED : DYNAMIC, timestamp);

/** A dynamic disk's header (1,024 bytes): `entries` BAT entries of 2 MiB blocks at `batOffset`. */
export function vhdDynamicHeader(entries: number, batOffset: number): Buffer {
  const dyn = Buffer.alloc(1024);
  dyn.write('cxsparse', 0, 'latin1');
  dyn.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, 8);
  dyn.writeBigUInt64BE(BigInt(batOffset), 16);
  dyn.writeUInt32BE(0x0001_0000, 24);
  dyn.writeUInt32BE(entries, 28);
  dyn.writeUInt32BE(BLOCK, 32);
  dyn.writeUInt32BE(checksum(dyn, 36), 36);
  return dyn;
}
