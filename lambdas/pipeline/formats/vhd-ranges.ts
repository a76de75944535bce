/**
 * vhd by ranges (the contract: ranges.ts), with the stream writer's blocks, footer and dynamic
 * header (vhd.ts).
 *
 * dynamic — ranges start at multiples of the 2 MiB block:
 *   head (part 1):  footer copy | dynamic header | BAT | unused sectors up to minHeadBytes
 *   data part i:    each non-zero block of range i as its sector bitmap and its 2 MiB, then unused
 *                   sectors up to padTo (space no BAT entry names: readers never look at it)
 *   tail:           the footer
 *   Index: per block of the range, its sector in the part + 1 (0: all zeros, BAT entry 0xFFFFFFFF).
 *
 * fixed — the disk's bytes as they are, so nothing can be padded and nothing needs assembling:
 *   data part i is range i's bytes; the last range also carries the sector padding and the footer
 *   (there is no head and no tail, as for raw). Every range but the last is a full range (≥ 5 MiB).
 */
import { packIndex, unpackIndex, type AssembledTables, type EncodedRange, type RangeFormat, type RangeInput } from './ranges';
import { DiskFormatError, SECTOR, blockRuns, roundUp, toBuffer, zeros } from './stage';
import { VHD_BITMAP, VHD_BLOCK, VHD_MAX_VIRTUAL, vhdDynamicHeader, vhdFooter, type VhdVariant } from './vhd';
import { SourceSizeMismatchError } from '../errors';

const NO_BLOCK = 0xffff_ffff;

export interface VhdRangeOptions {
  virtualSize: number;
  subformat?: VhdVariant;
  /** Footer timestamp (default: when the footer is made). */
  timestamp?: Date;
}

export function createVhdRangeFormat(opts: VhdRangeOptions): RangeFormat {
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size < 0 || size > VHD_MAX_VIRTUAL)
    throw new RangeError(`invalid vhd virtual size ${size} (at most 2040 GiB)`);
  const virtualSize = roundUp(size, SECTOR);
  const variant = opts.subformat ?? 'dynamic';
  const stamp = (): Date => opts.timestamp ?? new Date();

  const check = (start: number, end: number, unit: number): void => {
    if (start % unit !== 0 || start < 0 || end > size || end <= start || (end !== size && end % unit !== 0))
      throw new RangeError(`vhd range [${start}, ${end}) of a ${size}-byte disk is not aligned to ${unit} bytes`);
  };

  if (variant === 'fixed') {
    return {
      alignment: SECTOR,
      virtualSize,
      hasTail: false,
      async encodeRange({ raw, start, end }: RangeInput): Promise<EncodedRange> {
        check(start, end, SECTOR);
        const parts: Buffer[] = [];
        let read = 0;
        for await (const piece of raw) {
          const buf = toBuffer(piece);
          read += buf.length;
          if (read > end - start) throw new SourceSizeMismatchError(end - start, read, false);
          if (buf.length > 0) parts.push(buf);
        }
        if (read !== end - start) throw new SourceSizeMismatchError(end - start, read, true);
        if (end === size) {
          if (virtualSize > size) parts.push(zeros(virtualSize - size));
          parts.push(vhdFooter(virtualSize, 'fixed', stamp()));
        }
        const length = parts.reduce((n, p) => n + p.length, 0);
        return { parts, length, index: packIndex(length, Buffer.alloc(0)) };
      },
      assemble: (): AssembledTables => ({ head: Buffer.alloc(0), tail: Buffer.alloc(0) }),
    };
  }

  const blocksTotal = Math.ceil(virtualSize / VHD_BLOCK);
  const bitmap = Buffer.alloc(VHD_BITMAP, 0);
  bitmap.fill(0xff, 0, VHD_BLOCK / SECTOR / 8);

  return {
    alignment: VHD_BLOCK,
    virtualSize,
    hasTail: true,
    async encodeRange({ raw, start, end, padTo = 0 }: RangeInput): Promise<EncodedRange> {
      check(start, end, VHD_BLOCK);
      const entries = Buffer.alloc(Math.ceil((end - start) / VHD_BLOCK) * 4);
      const parts: Buffer[] = [];
      let pos = 0;
      // one block per data run (each needs its bitmap), its bytes the source's own buffers
      for await (const run of blockRuns(raw, end - start, VHD_BLOCK, { maxRunBytes: VHD_BLOCK })) {
        if (run.zero) continue;
        entries.writeUInt32BE(pos / SECTOR + 1, run.first * 4);
        parts.push(bitmap, ...run.pieces);
        pos += VHD_BITMAP + VHD_BLOCK;
      }
      const padded = Math.max(pos, roundUp(padTo, SECTOR));
      if (padded > pos) parts.push(zeros(padded - pos));
      return { parts, length: padded, index: packIndex(padded, entries) };
    },
    assemble(indexes: Buffer[], { minHeadBytes = 0 } = {}): AssembledTables {
      const ranges = indexes.map(unpackIndex);
      const total = ranges.reduce((n, r) => n + r.entries.length / 4, 0);
      if (total !== blocksTotal) throw new DiskFormatError(`vhd range indexes cover ${total} blocks, the disk has ${blocksTotal}`);
      if (ranges.some((r) => r.length % SECTOR !== 0)) throw new DiskFormatError('a vhd range data part is not whole sectors');
      const batOffset = 3 * SECTOR;
      const bat = Buffer.alloc(roundUp(Math.max(blocksTotal, 1) * 4, SECTOR), 0xff);
      const headSize = roundUp(Math.max(batOffset + bat.length, minHeadBytes), SECTOR);
      let sector = headSize / SECTOR;
      let b = 0;
      for (const { entries, length } of ranges) {
        for (let j = 0; j < entries.length; j += 4, b++) {
          const rel = entries.readUInt32BE(j);
          if (rel === 0) continue;
          const at = sector + rel - 1;
          if (at >= NO_BLOCK) throw new DiskFormatError('a vhd block lies past what a BAT entry can name');
          bat.writeUInt32BE(at, b * 4);
        }
        sector += length / SECTOR;
      }
      const foot = vhdFooter(virtualSize, 'dynamic', stamp());
      const head = Buffer.alloc(headSize);
      foot.copy(head, 0);
      vhdDynamicHeader(blocksTotal, batOffset).copy(head, SECTOR);
      bat.copy(head, batOffset);
      return { head, tail: foot };
    },
  };
}
