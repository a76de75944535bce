/**
 * The writers' hot path (formats/stage.ts): blockRuns cuts any piece sizes into runs of zero / data
 * blocks that cover the disk exactly, never cross a table boundary and hold the source's bytes; and
 * the uncompressed writers stay valid across their table boundaries (qcow2 L2 table every 512 MiB,
 * vmdk grain table every 32 MiB) on a large sparse disk.
 */
import { mkdtempSync, rmSync, closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { blockRuns, isZero, type BlockRun } from '../../../../lambdas/pipeline/formats/stage';
import { createWriter, type OutputSpec } from '../../../../lambdas/pipeline/formats';
import { SourceSizeMismatchError } from '../../../../lambdas/pipeline/errors';
import { generateDiskBuffer } from '../../../helpers/disk-content';
import { hasQemuImg, qemuImg } from '../../../helpers/disk-formats';

const MiB = 1024 * 1024;

async function* piecesOf(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let i = 0;
  for (let off = 0; off < data.length; ) {
    const n = sizes[i++ % sizes.length];
    yield data.subarray(off, off + n);
    off += n;
  }
}

async function runsOf(source: AsyncIterable<Buffer>, size: number, blockSize: number, opts = {}): Promise<BlockRun[]> {
  const runs: BlockRun[] = [];
  for await (const r of blockRuns(source, size, blockSize, opts)) runs.push(r);
  return runs;
}

describe('isZero', () => {
  it('finds a single non-zero byte anywhere, in buffers longer than its probe', () => {
    const buf = Buffer.alloc(3 * MiB + 5);
    expect(isZero(buf)).toBe(true);
    expect(isZero(buf.subarray(0, 0))).toBe(true);
    for (const at of [0, 1, MiB - 1, MiB, 2 * MiB + 7, buf.length - 1]) {
      buf[at] = 1;
      expect(isZero(buf)).toBe(false);
      buf[at] = 0;
    }
  });
});

describe('blockRuns', () => {
  const data = generateDiskBuffer(3 * MiB + 12_345, 11);
  const block = 64 * 1024;
  const blocks = Math.ceil(data.length / block);
  const padded = Buffer.concat([data, Buffer.alloc(blocks * block - data.length)]);

  it.each([[[MiB]], [[100_000]], [[7, 65_536, 1_000_003]], [[4096, 3]]])(
    'pieces %j: runs cover every block once, alternate, respect alignment and size, and carry the bytes',
    async (sizes) => {
      // Act
      const runs = await runsOf(piecesOf(data, sizes), data.length, block, { alignBlocks: 4, maxRunBytes: 3 * block });

      // Assert
      let next = 0;
      for (const [i, r] of runs.entries()) {
        expect(r.first).toBe(next);
        expect(r.count).toBeGreaterThan(0);
        next += r.count;
        // never crosses a multiple of alignBlocks
        expect(Math.floor(r.first / 4)).toBe(Math.floor((r.first + r.count - 1) / 4));
        const bytes = padded.subarray(r.first * block, (r.first + r.count) * block);
        if (r.zero) {
          expect(r.pieces).toEqual([]);
          expect(isZero(bytes)).toBe(true);
        } else {
          expect(r.count).toBeLessThanOrEqual(3);
          expect(Buffer.concat(r.pieces).equals(bytes)).toBe(true);
          for (let b = 0; b < r.count; b++) expect(isZero(bytes.subarray(b * block, (b + 1) * block))).toBe(false);
        }
        // two neighbouring runs of the same kind only at an alignment or size limit
        const prev = runs[i - 1];
        if (prev && prev.zero === r.zero) expect(r.first % 4 === 0 || (!r.zero && prev.count === 3)).toBe(true);
      }
      expect(next).toBe(blocks);
    },
  );

  it('refuses a source shorter or longer than its size', async () => {
    await expect(runsOf(piecesOf(data, [MiB]), data.length + 1, block)).rejects.toBeInstanceOf(SourceSizeMismatchError);
    await expect(runsOf(piecesOf(data, [MiB]), data.length - 1, block)).rejects.toBeInstanceOf(SourceSizeMismatchError);
  });
});

const maybe = hasQemuImg ? describe : describe.skip;

maybe('uncompressed writers across table boundaries', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'formats-stage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // 1.1 GiB, mostly zeros, data around the 512 MiB (qcow2 L2) and 1 GiB marks and at the very end
  const size = 1100 * MiB + 512 * 3;
  const islands = [
    { at: 0, data: generateDiskBuffer(200_000, 1) },
    { at: 512 * MiB - 100_000, data: generateDiskBuffer(300_000, 2) },
    { at: 1024 * MiB - 64 * 1024, data: generateDiskBuffer(128 * 1024, 3) },
    { at: size - 1000, data: generateDiskBuffer(1000, 4) },
  ];
  const zero = Buffer.alloc(8 * MiB);
  async function* disk(): AsyncGenerator<Buffer> {
    let pos = 0;
    for (const island of islands) {
      while (pos < island.at) {
        const n = Math.min(zero.length, island.at - pos);
        yield zero.subarray(0, n);
        pos += n;
      }
      yield island.data;
      pos += island.data.length;
    }
  }
  const source = path.join(dir, 'disk.raw');
  beforeAll(() => {
    const fd = openSync(source, 'w');
    for (const island of islands) writeSync(fd, island.data, 0, island.data.length, island.at);
    ftruncateSync(fd, size);
    closeSync(fd);
  });

  it.each<[string, OutputSpec, string]>([
    ['qcow2', { format: 'qcow2' }, 'qcow2'],
    ['vmdk monolithicSparse', { format: 'vmdk', subformat: 'monolithicSparse' }, 'vmdk'],
    ['vhd dynamic', { format: 'vhd', subformat: 'dynamic' }, 'vpc'],
  ])(
    '%s: qemu-img check and compare pass, and only the data blocks are stored',
    async (_label, spec, qemu) => {
      // Act
      const writer = createWriter(spec, { virtualSize: size });
      const file = path.join(dir, `out.${qemu}`);
      const fd = openSync(file, 'w');
      let written = 0;
      try {
        for await (const b of writer.write(disk())) written += writeSync(fd, b);
        if (writer.headSize > 0) writeSync(fd, writer.head(), 0, writer.headSize, 0);
      } finally {
        closeSync(fd);
      }

      // Assert
      if (qemu !== 'vpc') expect(qemuImg(['check', '-f', qemu, file]).out).toMatch(/No errors were found/);
      expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, source, file]).out).toMatch(/Images are identical/);
      expect(written).toBeLessThan(24 * MiB);
    },
    120_000,
  );
});
