/**
 * qcow2 version 3 (qemu's docs/interop/qcow2.txt): writer (plain or with deflate-compressed
 * clusters) and reader.
 *
 * Written layout, streaming front to back with 64 KiB clusters and 16-bit refcounts:
 *
 *   head (fixed by the virtual size):  header cluster | L1 table | refcount table
 *   body, per 512 MiB of disk (one L2 table's reach):  its data clusters … | its L2 table
 *   … and whenever the body passes 2 GiB of file (one refcount block's reach): that refcount block
 *   tail: the last refcount blocks (counting themselves)
 *
 * The L1 and refcount tables are sized up front from the virtual size (the file can never exceed
 * head + every cluster + its tables), so the head's size is known before any data; its contents
 * (where each L2 table and refcount block landed) are known once the body has ended — head() returns
 * them. All-zero clusters are left unallocated (they read as zeros: there is no backing file).
 * Compressed clusters are raw deflate packed back to back at byte offsets (the spec's compressed
 * cluster descriptor); a cluster that does not shrink is stored as a normal cluster instead, as
 * qemu does, and blocks that look incompressible are not even tried (members.ts's classifier).
 * Memory: the in-flight clusters, one L2 table, at most two refcount blocks, the L1 and refcount
 * tables (8 bytes per 512 MiB and per 2 GiB).
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

const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
const L2_ENTRIES = CLUSTER / 8;
const REFCOUNT_ORDER = 4; // 16-bit refcounts
const REFBLOCK_ENTRIES = (CLUSTER * 8) >> REFCOUNT_ORDER;
const HEADER_LENGTH = 104;
const COPIED = 1n << 63n;
const COMPRESSED = 1n << 62n;
const OFFSET_MASK = 0x00ff_ffff_ffff_fe00n; // bits 9–55
const MAX_VIRTUAL = 2 ** 50; // well inside what 56-bit offsets and JS integers express
export const QCOW2_DEFLATE_LEVEL = 4;

export interface Qcow2WriterOptions {
  virtualSize: number;
  /** Deflate the clusters that shrink (qemu-img convert -c). */
  compressed?: boolean;
  /**
   * zlib level for compressed clusters, default QCOW2_DEFLATE_LEVEL (4): on 64 KiB clusters
   * compressed independently it yields files no larger than qemu-img's (level 6 with a 4 KiB window)
   * for three quarters of level 6's CPU (docs/decisions/disk-formats.md).
   */
  level?: number;
  /** Clusters deflated at once, default one per core. */
  concurrency?: number;
}

interface Layout {
  virtualSize: number;
  clusters: number;
  l1Entries: number;
  l1Offset: number;
  rtOffset: number;
  rtClusters: number;
  headSize: number;
}

/** The head's size from the virtual size alone: L1 and refcount tables sized for the largest file. */
export function qcow2Layout(virtualSize: number): Layout {
  const clusters = Math.ceil(virtualSize / CLUSTER);
  const l1Entries = Math.max(1, Math.ceil(clusters / L2_ENTRIES));
  const l1Clusters = Math.ceil((l1Entries * 8) / CLUSTER);
  let rtClusters = 1;
  for (;;) {
    const head = 1 + l1Clusters + rtClusters;
    // every data cluster, every L2 table, alignment padding after compressed runs (≤ 1 per L2 table
    // and refcount block), then the refcount blocks themselves
    const body = clusters + 2 * l1Entries;
    let refblocks = 1;
    while (refblocks * REFBLOCK_ENTRIES < head + body + 2 * refblocks) refblocks++;
    const needed = Math.ceil((refblocks * 8) / CLUSTER);
    if (needed <= rtClusters) break;
    rtClusters = needed;
  }
  const l1Offset = CLUSTER;
  const rtOffset = l1Offset + l1Clusters * CLUSTER;
  return { virtualSize, clusters, l1Entries, l1Offset, rtOffset, rtClusters, headSize: rtOffset + rtClusters * CLUSTER };
}

type Encoded = { block: Block; deflated?: Buffer };

export function createQcow2Writer(opts: Qcow2WriterOptions): DiskWriter {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_VIRTUAL) throw new RangeError(`invalid qcow2 virtual size ${size}`);
  const virtualSize = roundUp(size, SECTOR);
  const layout = qcow2Layout(virtualSize);
  const compressed = opts.compressed ?? false;
  const level = opts.level ?? QCOW2_DEFLATE_LEVEL;
  const concurrency = opts.concurrency ?? defaultConcurrency();

  const l1 = Buffer.alloc(layout.l1Entries * 8);
  const rt = Buffer.alloc(layout.rtClusters * CLUSTER);
  let finished = false;

  return {
    format: 'qcow2',
    virtualSize,
    headSize: layout.headSize,
    retainBytes: compressed ? blocksRetain(CLUSTER, concurrency * 2) : blockRunsRetain(CLUSTER, { alignBlocks: L2_ENTRIES }),
    head(): Buffer {
      if (!finished) throw new Error('qcow2 head() before the body ended');
      const head = Buffer.alloc(layout.headSize);
      head.write('QFI\xfb', 0, 'latin1');
      head.writeUInt32BE(3, 4);
      head.writeUInt32BE(CLUSTER_BITS, 20);
      head.writeBigUInt64BE(BigInt(virtualSize), 24);
      head.writeUInt32BE(layout.l1Entries, 36);
      head.writeBigUInt64BE(BigInt(layout.l1Offset), 40);
      head.writeBigUInt64BE(BigInt(layout.rtOffset), 48);
      head.writeUInt32BE(layout.rtClusters, 56);
      head.writeUInt32BE(REFCOUNT_ORDER, 96);
      head.writeUInt32BE(HEADER_LENGTH, 100);
      // header extensions: only the end marker (type 0, length 0), already zero at 104
      l1.copy(head, layout.l1Offset);
      rt.copy(head, layout.rtOffset);
      return head;
    },

    async *write(raw: RawSource) {
      let pos = layout.headSize; // next free byte of the file
      // refcount blocks not yet written: block number → counts
      const refblocks = new Map<number, Uint16Array>();
      const ref = (cluster: number): void => {
        const b = Math.floor(cluster / REFBLOCK_ENTRIES);
        let counts = refblocks.get(b);
        if (!counts) {
          counts = new Uint16Array(REFBLOCK_ENTRIES);
          refblocks.set(b, counts);
        }
        counts[cluster % REFBLOCK_ENTRIES]++;
      };
      const encodeRefblock = (counts: Uint16Array): Buffer => {
        const out = Buffer.alloc(CLUSTER);
        for (let i = 0; i < counts.length; i++) if (counts[i]) out.writeUInt16BE(counts[i], i * 2);
        return out;
      };
      for (let c = 0; c < layout.headSize / CLUSTER; c++) ref(c);
      yield zeros(layout.headSize); // placeholder: head() has the real bytes

      const out: Buffer[] = [];
      /** Pads to the next cluster boundary (after compressed data). */
      const align = (): void => {
        const next = roundUp(pos, CLUSTER);
        if (next > pos) out.push(zeros(next - pos));
        pos = next;
      };
      /** Writes one whole cluster at the (aligned) position; returns its offset. */
      const putCluster = (data: Buffer): number => {
        align();
        const at = pos;
        out.push(data);
        ref(at / CLUSTER);
        pos += CLUSTER;
        return at;
      };
      /** Refcount blocks whose whole range lies behind the write position go out now. */
      const flushRefblocks = (): void => {
        for (;;) {
          let b = Infinity;
          for (const k of refblocks.keys()) if (k < b) b = k;
          if (b === Infinity || pos < (b + 1) * REFBLOCK_ENTRIES * CLUSTER) return;
          const counts = refblocks.get(b)!;
          refblocks.delete(b);
          // its own cluster lies past its range: counted in a later block
          rt.writeBigUInt64BE(BigInt(putCluster(encodeRefblock(counts))), b * 8);
        }
      };

      let l2: Buffer | undefined;
      let l2Index = -1;
      const flushL2 = (): void => {
        if (l2) {
          const at = putCluster(l2);
          l1.writeBigUInt64BE(BigInt(at) | COPIED, l2Index * 8);
        }
        l2 = undefined;
      };

      /** An L2 entry (or any 64-bit table entry) from a safe integer and flag bits, without BigInt. */
      const putEntry = (table: Buffer, at: number, value: number, flagsHigh: number): void => {
        table.writeUInt32BE((Math.floor(value / 2 ** 32) | flagsHigh) >>> 0, at);
        table.writeUInt32BE(value >>> 0, at + 4);
      };
      const enterRegion = (blockIndex: number): void => {
        const region = Math.floor(blockIndex / L2_ENTRIES);
        if (region !== l2Index) {
          flushL2();
          l2Index = region;
        }
      };

      if (!compressed) {
        // runs of data clusters go out as the source's own buffers, one L2 entry per cluster
        for await (const run of blockRuns(raw, size, CLUSTER, { alignBlocks: L2_ENTRIES })) {
          enterRegion(run.first);
          if (!run.zero) {
            l2 ??= Buffer.alloc(CLUSTER);
            align();
            const at = pos;
            for (const p of run.pieces) out.push(p);
            for (let i = 0; i < run.count; i++) {
              putEntry(l2, ((run.first + i) % L2_ENTRIES) * 8, at + i * CLUSTER, 0x8000_0000);
              ref(at / CLUSTER + i);
            }
            pos += run.count * CLUSTER;
          }
          flushRefblocks();
          if (out.length > 0) yield* out.splice(0);
        }
      } else {
        const deflater = new DeflatePool('raw', level, concurrency * 2);
        const encode = async (block: Block): Promise<Encoded> => {
          if (block.zero || looksIncompressible(block.data, 0, block.data.length)) return { block };
          const deflated = await deflater.deflate(block.data);
          return deflated.length < CLUSTER - SECTOR ? { block, deflated } : { block };
        };
        try {
          for await (const { block, deflated } of orderedMap(blocks(raw, size, CLUSTER), encode, concurrency * 2)) {
            enterRegion(block.index);
            if (!block.zero) {
              l2 ??= Buffer.alloc(CLUSTER);
              let entry: bigint;
              if (deflated) {
                const at = pos;
                out.push(deflated);
                pos += deflated.length;
                for (let c = Math.floor(at / CLUSTER); c <= Math.floor((pos - 1) / CLUSTER); c++) ref(c);
                const extraSectors = Math.floor((pos - 1) / SECTOR) - Math.floor(at / SECTOR);
                entry = COMPRESSED | (BigInt(extraSectors) << BigInt(62 - (CLUSTER_BITS - 8))) | BigInt(at);
              } else {
                entry = BigInt(putCluster(block.data)) | COPIED;
              }
              l2.writeBigUInt64BE(entry, (block.index % L2_ENTRIES) * 8);
            }
            flushRefblocks();
            if (out.length > 0) yield* out.splice(0);
          }
        } finally {
          deflater.close();
        }
      }
      flushL2();
      align();
      flushRefblocks();
      // The last refcount blocks: they count every cluster up to and including themselves.
      const first = pos / CLUSTER;
      for (let added = true; added; ) {
        added = false;
        const end = first + refblocks.size;
        for (let b = Math.floor(first / REFBLOCK_ENTRIES); b <= Math.floor((end - 1) / REFBLOCK_ENTRIES); b++) {
          if (!refblocks.has(b)) {
            refblocks.set(b, new Uint16Array(REFBLOCK_ENTRIES));
            added = true;
          }
        }
      }
      const pending = [...refblocks.keys()].sort((a, b) => a - b);
      for (let i = 0; i < pending.length; i++) ref(first + i);
      for (const b of pending) {
        rt.writeBigUInt64BE(BigInt(pos), b * 8);
        out.push(encodeRefblock(refblocks.get(b)!));
        pos += CLUSTER;
      }
      refblocks.clear();
      if (out.length > 0) yield* out.splice(0);
      finished = true;
    },
  };
}

// ——— reader ———

interface Qcow2Header {
  virtualSize: number;
  clusterBits: number;
  l1Entries: number;
  l1Offset: number;
}

const u64 = (buf: Buffer, at: number): number => {
  const v = buf.readBigUInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DiskFormatError(`qcow2: value ${v} at header offset ${at} is not plausible`);
  return Number(v);
};

function parseHeader(h: Buffer, fileSize: number): Qcow2Header {
  if (h.length < 72 || h.toString('latin1', 0, 4) !== 'QFI\xfb') throw new DiskFormatError('not a qcow2 file');
  const version = h.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new DiskFormatError(`qcow2 version ${version} is not supported`);
  if (u64(h, 8) !== 0) throw new DiskFormatError('qcow2 images with a backing file are not supported (flatten it first: qemu-img convert)');
  const clusterBits = h.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new DiskFormatError(`qcow2 cluster_bits ${clusterBits} is invalid`);
  if (h.readUInt32BE(32) !== 0) throw new DiskFormatError('encrypted qcow2 images are not supported');
  if (version === 3) {
    if (h.length < 104) throw new DiskFormatError('truncated qcow2 header');
    const incompatible = h.readBigUInt64BE(72);
    // bit 0 dirty (refcounts may be stale: reading is still fine), bit 1 corrupt, 2 external data,
    // 3 compression type, 4 extended L2 entries
    if (incompatible & 2n) throw new DiskFormatError('the qcow2 image is marked corrupt');
    if (incompatible & ~1n) throw new DiskFormatError(`qcow2 incompatible features 0x${incompatible.toString(16)} are not supported`);
  }
  const virtualSize = u64(h, 24);
  const l1Entries = h.readUInt32BE(36);
  const l1Offset = u64(h, 40);
  const clusterSize = 2 ** clusterBits;
  if (l1Entries * (clusterSize / 8) * clusterSize < virtualSize) throw new DiskFormatError('qcow2 L1 table too small for the virtual size');
  if (l1Entries > 0 && (l1Offset % clusterSize !== 0 || l1Offset + l1Entries * 8 > fileSize))
    throw new DiskFormatError('qcow2 L1 table lies outside the file');
  return { virtualSize, clusterBits, l1Entries, l1Offset };
}

function inflateRaw(data: Buffer, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib.inflateRaw(data, { chunkSize: size, finishFlush: zlib.constants.Z_SYNC_FLUSH }, (err, out) =>
      err ? reject(new DiskFormatError(`qcow2: a compressed cluster does not inflate: ${err.message}`)) : resolve(out),
    ),
  );
}

type Piece = { zero: number } | { at: number; length: number } | { compressedAt: number; compressedLength: number; length: number };

export async function openQcow2(file: RandomAccessSource, opts: { concurrency?: number } = {}): Promise<DiskReader> {
  const source = cachedSource(file);
  const header = parseHeader(await source.read(0, Math.min(file.size, 112)), file.size);
  const { virtualSize, clusterBits } = header;
  const clusterSize = 2 ** clusterBits;
  const entries = clusterSize / 8;
  const x = BigInt(62 - (clusterBits - 8));
  const concurrency = opts.concurrency ?? defaultConcurrency();
  const l1 = header.l1Entries > 0 ? await source.read(header.l1Offset, header.l1Entries * 8) : Buffer.alloc(0);

  const total = Math.ceil(virtualSize / clusterSize);

  /**
   * Clusters [from, to) of the disk as pieces in order: runs of zeros, runs of contiguous clusters,
   * compressed clusters. Reads only the L2 tables that map them.
   */
  async function* pieces(from: number, to: number): AsyncGenerator<Piece> {
    let run: { at: number; length: number } | undefined;
    let zero = 0;
    const flushRun = function* (): Generator<Piece> {
      if (zero > 0) yield { zero };
      zero = 0;
      if (run) yield run;
      run = undefined;
    };
    for (let i = Math.floor(from / entries); i * entries < to; i++) {
      // entries [first, last) of L2 table i
      const first = Math.max(0, from - i * entries);
      const last = Math.min(entries, to - i * entries);
      const reach = Math.min(virtualSize, (i * entries + last) * clusterSize) - (i * entries + first) * clusterSize;
      const l1e = l1.readBigUInt64BE(i * 8) & OFFSET_MASK;
      if (l1e === 0n) {
        if (run) yield* flushRun();
        zero += reach;
        continue;
      }
      const l2Offset = Number(l1e);
      if (l2Offset % clusterSize !== 0 || l2Offset + clusterSize > file.size)
        throw new DiskFormatError(`qcow2: L2 table ${i} at ${l2Offset} lies outside the file or off a cluster boundary`);
      const l2 = await source.read(l2Offset, clusterSize);
      for (let j = first; j < last; j++) {
        const length = Math.min(clusterSize, virtualSize - (i * entries + j) * clusterSize);
        const e = l2.readBigUInt64BE(j * 8);
        if (e & COMPRESSED) {
          const at = Number(e & ((1n << x) - 1n));
          const extra = Number((e >> x) & ((1n << (62n - x)) - 1n));
          const end = Math.min(file.size, (Math.floor(at / SECTOR) + extra + 1) * SECTOR);
          if (at >= file.size) throw new DiskFormatError('qcow2: a compressed cluster lies outside the file');
          yield* flushRun();
          yield { compressedAt: at, compressedLength: end - at, length };
          continue;
        }
        const at = Number(e & OFFSET_MASK);
        if (e & 1n || at === 0) {
          if (run) yield* flushRun();
          zero += length;
          continue;
        }
        if (at + length > file.size) throw new DiskFormatError('qcow2: a data cluster lies outside the file');
        if (at % clusterSize !== 0) throw new DiskFormatError(`qcow2: data cluster ${i * entries + j} at ${at} is off a cluster boundary`);
        if (zero > 0) yield* flushRun();
        if (run && run.at + run.length === at && run.length + length <= 8 * 1024 * 1024 && run.length % clusterSize === 0)
          run.length += length;
        else {
          yield* flushRun();
          run = { at, length };
        }
      }
    }
    yield* flushRun();
  }

  const load = async (p: Piece): Promise<Buffer> => {
    if ('zero' in p) return zeros(p.zero);
    if ('at' in p) return file.read(p.at, p.length);
    const inflated = await inflateRaw(await source.read(p.compressedAt, p.compressedLength), clusterSize);
    if (inflated.length < p.length) throw new DiskFormatError('qcow2: a compressed cluster inflates to less than a cluster');
    return inflated.subarray(0, p.length);
  };

  return {
    format: 'qcow2',
    virtualSize,
    async *stream() {
      for await (const buf of orderedMap(splitZeros(pieces(0, total)), load, concurrency * 2)) yield buf;
    },
    streamRange(start, end) {
      checkDiskRange(start, end, virtualSize);
      const from = Math.floor(start / clusterSize);
      const to = Math.ceil(end / clusterSize);
      return trimPieces(orderedMap(splitZeros(pieces(from, to)), load, concurrency * 2), start - from * clusterSize, end - start);
    },
  };
}
