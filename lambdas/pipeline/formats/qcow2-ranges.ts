/**
 * qcow2 by ranges (the contract: ranges.ts): the same clusters as the stream writer (qcow2.ts) —
 * all-zero clusters unallocated, compressed clusters deflated by the same pool at the same level and
 * kept only when they shrink below cluster − 512 bytes, incompressible-looking blocks not tried —
 * laid out so that no range needs another's offsets:
 *
 *   head (part 1):   header cluster | L1 table | refcount table | unused clusters up to minHeadBytes
 *   data part i:     range i's plain clusters (aligned) and compressed clusters (packed), padded to a
 *                    cluster boundary, then to padTo with unused clusters
 *   tail:            every L2 table, then the refcount blocks (counting every cluster of the file)
 *
 * A range's index holds, per cluster of the range, where its data lies in the part (offset + 1, 0 for
 * an all-zero cluster) and its compressed length (0 for a plain cluster): 8 bytes per cluster before
 * deflate, a few hundred bytes for a sparse range. The assembly turns them into L2 entries by adding
 * each part's file offset (parts are whole clusters, so alignment and the compressed descriptor's
 * sector count are the same at any base). Unused padding clusters have refcount 0: `qemu-img check`
 * counts them as free space, neither leaked nor referenced.
 */
import { looksIncompressible } from '../members';
import { DeflatePool } from './deflate';
import { QCOW2_DEFLATE_LEVEL } from './qcow2';
import { packIndex, unpackIndex, type AssembledTables, type EncodedRange, type RangeFormat, type RangeInput } from './ranges';
import { DiskFormatError, SECTOR, blockRuns, blocks, defaultConcurrency, orderedMap, roundUp, zeros, type Block } from './stage';

const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
const L2_ENTRIES = CLUSTER / 8;
const REFCOUNT_ORDER = 4; // 16-bit refcounts, as the stream writer
const REFBLOCK_ENTRIES = (CLUSTER * 8) >> REFCOUNT_ORDER;
const HEADER_LENGTH = 104;
/** Entry flags in the high 32-bit word of an L1/L2 entry: bit 63 COPIED, bit 62 COMPRESSED. */
const COPIED_HI = 0x8000_0000;
const COMPRESSED_HI = 0x4000_0000;
/** The compressed descriptor's sector count starts at bit 62 − (cluster_bits − 8) = 54, i.e. bit 22 of the high word. */
const SECTORS_SHIFT_HI = 62 - (CLUSTER_BITS - 8) - 32;
const MAX_VIRTUAL = 2 ** 50;

export interface Qcow2RangeOptions {
  /** Bytes of the raw disk (declared rounded up to 512). */
  virtualSize: number;
  compressed?: boolean;
  /** zlib level of compressed clusters, default the stream writer's. */
  level?: number;
  concurrency?: number;
}

const writeEntry = (table: Buffer, at: number, hi: number, lo: number): void => {
  table.writeUInt32BE(hi >>> 0, at);
  table.writeUInt32BE(lo >>> 0, at + 4);
};

export function createQcow2RangeFormat(opts: Qcow2RangeOptions): RangeFormat {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_VIRTUAL) throw new RangeError(`invalid qcow2 virtual size ${size}`);
  const virtualSize = roundUp(size, SECTOR);
  const compressed = opts.compressed ?? false;
  const level = opts.level ?? QCOW2_DEFLATE_LEVEL;
  const concurrency = opts.concurrency ?? defaultConcurrency();
  const clusters = Math.ceil(virtualSize / CLUSTER);

  async function encodeRange({ raw, start, end, padTo = 0 }: RangeInput): Promise<EncodedRange> {
    if (start % CLUSTER !== 0 || start < 0 || end > size || end <= start || (end !== size && end % CLUSTER !== 0))
      throw new RangeError(`qcow2 range [${start}, ${end}) of a ${size}-byte disk is not aligned to its ${CLUSTER}-byte clusters`);
    const length = end - start;
    const entries = Buffer.alloc(Math.ceil(length / CLUSTER) * 8);
    const parts: Buffer[] = [];
    let pos = 0;
    const align = (to: number): void => {
      const next = roundUp(pos, to);
      if (next > pos) parts.push(zeros(next - pos));
      pos = next;
    };
    if (!compressed) {
      for await (const run of blockRuns(raw, length, CLUSTER)) {
        if (run.zero) continue;
        for (const p of run.pieces) parts.push(p);
        for (let i = 0; i < run.count; i++) entries.writeUInt32BE(pos + i * CLUSTER + 1, (run.first + i) * 8);
        pos += run.count * CLUSTER;
      }
    } else {
      const deflater = new DeflatePool('raw', level, concurrency * 2);
      const encode = async (block: Block): Promise<{ block: Block; deflated?: Buffer }> => {
        if (block.zero || looksIncompressible(block.data, 0, block.data.length)) return { block };
        const deflated = await deflater.deflate(block.data);
        return deflated.length < CLUSTER - SECTOR ? { block, deflated } : { block };
      };
      try {
        for await (const { block, deflated } of orderedMap(blocks(raw, length, CLUSTER), encode, concurrency * 2)) {
          if (block.zero) continue;
          if (deflated) {
            entries.writeUInt32BE(pos + 1, block.index * 8);
            entries.writeUInt32BE(deflated.length, block.index * 8 + 4);
            parts.push(deflated);
            pos += deflated.length;
          } else {
            align(CLUSTER);
            entries.writeUInt32BE(pos + 1, block.index * 8);
            parts.push(block.data);
            pos += CLUSTER;
          }
        }
      } finally {
        deflater.close();
      }
    }
    align(CLUSTER);
    const padded = roundUp(padTo, CLUSTER);
    if (pos < padded) {
      parts.push(zeros(padded - pos));
      pos = padded;
    }
    if (pos >= 2 ** 32) throw new RangeError(`a qcow2 range's data part of ${pos} bytes is over 4 GiB`);
    return { parts, length: pos, index: packIndex(pos, entries) };
  }

  function assemble(indexes: Buffer[], { minHeadBytes = 0 } = {}): AssembledTables {
    const ranges = indexes.map(unpackIndex);
    const total = ranges.reduce((n, r) => n + r.entries.length / 8, 0);
    if (total !== clusters) throw new DiskFormatError(`qcow2 range indexes cover ${total} clusters, the disk has ${clusters}`);
    if (ranges.some((r) => r.length % CLUSTER !== 0)) throw new DiskFormatError('a qcow2 range data part is not whole clusters');
    const dataClusters = ranges.reduce((n, r) => n + r.length / CLUSTER, 0);
    const l1Entries = Math.max(1, Math.ceil(clusters / L2_ENTRIES));
    const l1Clusters = Math.ceil((l1Entries * 8) / CLUSTER);

    // which L2 tables hold an allocated entry (the others stay 0 in L1: all their clusters read as zeros)
    const l2Slot = new Int32Array(l1Entries).fill(-1);
    let l2Count = 0;
    let c = 0;
    for (const { entries } of ranges) {
      for (let j = 0; j < entries.length; j += 8, c++) {
        const t = Math.floor(c / L2_ENTRIES);
        if (l2Slot[t] < 0 && entries.readUInt32BE(j) !== 0) l2Slot[t] = l2Count++;
      }
    }

    // sizes: the refcount table must have an entry for every refcount block, which count themselves
    let rtClusters = 1;
    let headClusters: number;
    let refblocks: number;
    for (;;) {
      headClusters = Math.max(1 + l1Clusters + rtClusters, Math.ceil(minHeadBytes / CLUSTER));
      const counted = headClusters + dataClusters + l2Count;
      refblocks = Math.ceil(counted / REFBLOCK_ENTRIES);
      while (refblocks * REFBLOCK_ENTRIES < counted + refblocks) refblocks++;
      const needed = Math.ceil((refblocks * 8) / CLUSTER);
      if (needed <= rtClusters) break;
      rtClusters = needed;
    }
    const fileClusters = headClusters + dataClusters + l2Count + refblocks;
    const counts = new Uint16Array(fileClusters);
    const ref = (cluster: number): void => {
      if (counts[cluster] === 0xffff) throw new DiskFormatError(`qcow2 refcount overflow at cluster ${cluster}`);
      counts[cluster]++;
    };
    for (let h = 0; h < 1 + l1Clusters + rtClusters; h++) ref(h); // header, L1, refcount table (not the padding)

    const tailAt = (headClusters + dataClusters) * CLUSTER;
    const l2Tables = Buffer.alloc(l2Count * CLUSTER);
    let base = headClusters * CLUSTER;
    c = 0;
    for (const { entries, length } of ranges) {
      for (let j = 0; j < entries.length; j += 8, c++) {
        const off = entries.readUInt32BE(j);
        if (off === 0) continue;
        const at = base + off - 1;
        const compressedLength = entries.readUInt32BE(j + 4);
        const slot = l2Slot[Math.floor(c / L2_ENTRIES)] * CLUSTER + (c % L2_ENTRIES) * 8;
        const high = Math.floor(at / 2 ** 32);
        if (compressedLength === 0) {
          if (at % CLUSTER !== 0) throw new DiskFormatError('a qcow2 range index names an unaligned cluster');
          writeEntry(l2Tables, slot, high | COPIED_HI, at);
          ref(at / CLUSTER);
        } else {
          const last = at + compressedLength - 1;
          const extraSectors = Math.floor(last / SECTOR) - Math.floor(at / SECTOR);
          writeEntry(l2Tables, slot, high | COMPRESSED_HI | (extraSectors << SECTORS_SHIFT_HI), at);
          for (let k = Math.floor(at / CLUSTER); k <= Math.floor(last / CLUSTER); k++) ref(k);
        }
      }
      base += length;
    }

    const head = Buffer.alloc(headClusters * CLUSTER);
    const l1Offset = CLUSTER;
    const rtOffset = l1Offset + l1Clusters * CLUSTER;
    for (let t = 0; t < l1Entries; t++) {
      if (l2Slot[t] < 0) continue;
      const at = tailAt + l2Slot[t] * CLUSTER;
      writeEntry(head, l1Offset + t * 8, Math.floor(at / 2 ** 32) | COPIED_HI, at);
      ref(at / CLUSTER);
    }
    const refblocksAt = tailAt + l2Count * CLUSTER;
    for (let b = 0; b < refblocks; b++) {
      const at = refblocksAt + b * CLUSTER;
      writeEntry(head, rtOffset + b * 8, Math.floor(at / 2 ** 32), at);
      ref(at / CLUSTER);
    }
    const blocksOut = Buffer.alloc(refblocks * CLUSTER);
    for (let k = 0; k < fileClusters; k++) if (counts[k]) blocksOut.writeUInt16BE(counts[k], k * 2);

    head.write('QFI\xfb', 0, 'latin1');
    head.writeUInt32BE(3, 4);
    head.writeUInt32BE(CLUSTER_BITS, 20);
    head.writeBigUInt64BE(BigInt(virtualSize), 24);
    head.writeUInt32BE(l1Entries, 36);
    head.writeBigUInt64BE(BigInt(l1Offset), 40);
    head.writeBigUInt64BE(BigInt(rtOffset), 48);
    head.writeUInt32BE(rtClusters, 56);
    head.writeUInt32BE(REFCOUNT_ORDER, 96);
    head.writeUInt32BE(HEADER_LENGTH, 100);
    // header extensions: only the end marker (type 0, length 0), already zero at 104
    return { head, tail: Buffer.concat([l2Tables, blocksOut]) };
  }

  return { alignment: CLUSTER, virtualSize, hasTail: true, encodeRange, assemble };
}
