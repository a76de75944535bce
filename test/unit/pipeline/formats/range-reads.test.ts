/**
 * DiskReader.streamRange (lambdas/pipeline/formats/stage.ts): for files qemu-img wrote and files our
 * writers wrote (qcow2 plain and compressed, 4 KiB clusters; vmdk monolithicSparse and
 * streamOptimized; vhd dynamic and fixed; ova), random ranges of the disk, the ranges at its edges and ranges
 * across block and table boundaries read exactly the source's bytes [start, end); a small range of a
 * large file reads only a small part of it; a table or block that lies outside the file fails with a
 * DiskFormatError.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DiskFormatError,
  bufferSource,
  collect,
  createWriter,
  openDisk,
  type DiskReader,
  type OutputSpec,
  type RandomAccessSource,
} from '../../../../lambdas/pipeline/formats';
import { hasQemuImg, qemuImg, testDisks, writeFile } from '../../../helpers/disk-formats';
import { mulberry32 } from '../../../helpers/prng';

const KiB = 1024;
const MiB = 1024 * KiB;
const dir = mkdtempSync(path.join(tmpdir(), 'range-reads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Edge ranges, ranges across `block` boundaries, and random ranges of a disk of `size` bytes. */
function rangesOf(size: number, block: number, seed: number): [number, number][] {
  const random = mulberry32(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const out: [number, number][] = [
    [0, 0],
    [0, size],
    [0, 1],
    [size - 1, size],
    [size, size],
    [0, Math.min(size, block)],
    [Math.max(0, size - block - 7), size],
  ];
  for (let b = block; b < size && out.length < 14; b += block * 3) out.push([b - 513, Math.min(size, b + 1000)]);
  for (let i = 0; i < 16; i++) {
    const start = pick(size);
    const length = i % 2 === 0 ? pick(Math.min(size - start, 3 * block)) + 1 : pick(size - start) + 1;
    out.push([start, start + length]);
  }
  return out;
}

async function expectRanges(reader: DiskReader, data: Buffer, block: number, seed: number): Promise<void> {
  expect(reader.virtualSize).toBe(data.length);
  for (const [start, end] of rangesOf(data.length, block, seed)) {
    const got = await collect(reader.streamRange(start, end));
    if (!got.equals(data.subarray(start, end))) throw new Error(`[${start}, ${end}) of ${data.length} bytes differs from the source`);
  }
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** A source that counts the bytes read from it. */
function counting(source: RandomAccessSource): RandomAccessSource & { bytes: number } {
  const counted = {
    size: source.size,
    bytes: 0,
    async read(offset: number, length: number) {
      counted.bytes += length;
      return source.read(offset, length);
    },
  };
  return counted;
}

/** 70 MiB + 1.5 KiB, data in a few places (across vmdk grain tables and qcow2 L2 tables of 4 KiB clusters). */
function largeSparseDisk(): Buffer {
  const data = Buffer.alloc(70 * MiB + 1536);
  const random = mulberry32(99);
  const fill = (at: number, length: number) => {
    for (let i = 0; i < length; i++) data[at + i] = Math.floor(random() * 256);
  };
  fill(0, 200 * KiB);
  fill(31 * MiB + 12345, 3 * MiB); // across the first vmdk grain table's end (32 MiB)
  fill(50 * MiB, 64 * KiB);
  data.write('the last bytes of the disk', data.length - 40);
  return data;
}

const BLOCK: Record<string, number> = { qcow2: 64 * KiB, vmdk: 64 * KiB, vhd: 2 * MiB, ova: 64 * KiB };

const QEMU: { label: string; args: string[]; format: 'qcow2' | 'vmdk' | 'vhd'; block: number }[] = [
  { label: 'qcow2', args: ['-O', 'qcow2'], format: 'qcow2', block: 64 * KiB },
  { label: 'qcow2 -c', args: ['-c', '-O', 'qcow2'], format: 'qcow2', block: 64 * KiB },
  { label: 'qcow2 4 KiB clusters', args: ['-O', 'qcow2', '-o', 'cluster_size=4096'], format: 'qcow2', block: 4 * KiB },
  { label: 'vmdk monolithicSparse', args: ['-O', 'vmdk'], format: 'vmdk', block: 64 * KiB },
  { label: 'vmdk streamOptimized', args: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], format: 'vmdk', block: 64 * KiB },
  { label: 'vpc dynamic', args: ['-O', 'vpc', '-o', 'force_size=on'], format: 'vhd', block: 2 * MiB },
  { label: 'vpc fixed', args: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'], format: 'vhd', block: 2 * MiB },
];
const OURS: { label: string; spec: OutputSpec }[] = [
  { label: 'qcow2', spec: { format: 'qcow2' } },
  { label: 'qcow2 compressed', spec: { format: 'qcow2', compressed: true } },
  { label: 'vmdk monolithicSparse', spec: { format: 'vmdk', subformat: 'monolithicSparse' } },
  { label: 'vmdk streamOptimized', spec: { format: 'vmdk', subformat: 'streamOptimized' } },
  { label: 'vhd dynamic', spec: { format: 'vhd', subformat: 'dynamic' } },
  { label: 'vhd fixed', spec: { format: 'vhd', subformat: 'fixed' } },
  { label: 'ova', spec: { format: 'ova' } },
];

const disks = [...testDisks(), { name: 'large-sparse', data: largeSparseDisk() }];
const maybe = hasQemuImg ? describe : describe.skip;

maybe('streamRange on qemu-img output', () => {
  const cases = QEMU.flatMap((q) => disks.filter((d) => d.data.length % 512 === 0).map((d) => ({ ...q, disk: d.name, data: d.data })));
  it.each(cases)(
    '$label of $disk: every range reads the source bytes',
    async ({ label, args, format, block, disk, data }) => {
      const source = path.join(dir, `${disk}.raw`);
      writeFileSync(source, data);
      const file = path.join(dir, `${disk}.qemu.${label.replace(/[^a-z0-9]+/gi, '-')}`);
      expect(qemuImg(['convert', '-f', 'raw', ...args, source, file]).status).toBe(0);
      const reader = await openDisk(format, bufferSource(readFileSync(file)));
      await expectRanges(reader, data, block, data.length);
    },
    120_000,
  );

  it('reads a small range of a large qcow2 through its own L2 table and clusters only', async () => {
    const data = largeSparseDisk();
    const source = path.join(dir, 'large.raw');
    writeFileSync(source, data);
    const file = path.join(dir, 'large-4k.qcow2');
    // 4 KiB clusters: one L2 table maps 2 MiB, so the disk has 36 of them
    expect(qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4096', source, file]).status).toBe(0);
    const bytes = readFileSync(file);
    const counted = counting(bufferSource(bytes));
    const reader = await openDisk('qcow2', counted);
    const opened = counted.bytes;
    const start = 31 * MiB + 100_000;
    const got = await collect(reader.streamRange(start, start + 64 * KiB));
    expect(got.equals(data.subarray(start, start + 64 * KiB))).toBe(true);
    // the header and L1 at open; then the range's L2 table and data windows (cachedSource: 8 MiB each), not the file
    expect(bytes.length).toBeGreaterThan(3 * MiB);
    expect(counted.bytes - opened).toBeLessThanOrEqual(2 * 8 * MiB);
    const tail = counting(bufferSource(bytes));
    const again = await openDisk('qcow2', tail);
    const before = tail.bytes;
    await collect(again.streamRange(data.length - 100, data.length));
    // the disk's last 2 MiB are unallocated but for its last cluster: one window
    expect(tail.bytes - before).toBeLessThanOrEqual(8 * MiB);
  }, 120_000);
});

describe('streamRange on our writers’ output', () => {
  const cases = OURS.flatMap((o) => disks.map((d) => ({ ...o, disk: d.name, data: d.data })));
  it.each(cases)(
    '$label of $disk: every range reads the source bytes (zero-padded to a sector)',
    async ({ label, spec, disk, data }) => {
      const file = path.join(dir, `${disk}.ours.${label.replace(/[^a-z0-9]+/gi, '-')}`);
      await writeFile(createWriter(spec, { virtualSize: data.length }), data, file);
      const reader = await openDisk(spec.format as 'qcow2' | 'vmdk' | 'vhd' | 'ova', bufferSource(readFileSync(file)));
      await expectRanges(reader, padded(data), BLOCK[spec.format]!, data.length + 1);
    },
    120_000,
  );

  it('refuses a range outside the disk', async () => {
    const file = path.join(dir, 'small.qcow2');
    await writeFile(createWriter({ format: 'qcow2' }, { virtualSize: MiB }), Buffer.alloc(MiB, 1), file);
    const reader = await openDisk('qcow2', bufferSource(readFileSync(file)));
    expect(() => reader.streamRange(0, MiB + 1)).toThrow(RangeError);
    expect(() => reader.streamRange(5, 4)).toThrow(RangeError);
    expect(() => reader.streamRange(-1, 4)).toThrow(RangeError);
  });
});

describe('streamRange on damaged files', () => {
  const data = Buffer.alloc(4 * MiB, 7);

  async function written(spec: OutputSpec): Promise<Buffer> {
    const file = path.join(dir, `damaged.${spec.format}`);
    await writeFile(createWriter(spec, { virtualSize: data.length }), data, file);
    return readFileSync(file);
  }

  it('a qcow2 whose L1 entry points past the end of the file', async () => {
    const bytes = await written({ format: 'qcow2' });
    const l1 = Number(bytes.readBigUInt64BE(40));
    bytes.writeBigUInt64BE((1n << 63n) | BigInt(bytes.length + 65536 * 4), l1);
    const reader = await openDisk('qcow2', bufferSource(bytes));
    await expect(collect(reader.streamRange(MiB, 2 * MiB))).rejects.toThrow(
      new DiskFormatError(`qcow2: L2 table 0 at ${bytes.length + 65536 * 4} lies outside the file or off a cluster boundary`),
    );
  });

  it('a qcow2 whose L2 entry points past the end of the file', async () => {
    const bytes = await written({ format: 'qcow2' });
    const l2 = Number(bytes.readBigUInt64BE(Number(bytes.readBigUInt64BE(40))) & 0x00ff_ffff_ffff_fe00n);
    bytes.writeBigUInt64BE((1n << 63n) | BigInt(bytes.length * 2), l2 + 20 * 8);
    const reader = await openDisk('qcow2', bufferSource(bytes));
    await expect(collect(reader.streamRange(0, 64 * KiB))).resolves.toHaveLength(64 * KiB); // clusters before it still read
    await expect(collect(reader.streamRange(20 * 64 * KiB, 21 * 64 * KiB))).rejects.toThrow(/data cluster lies outside the file/);
  });

  it('a qcow2 whose L2 entry points off a cluster boundary', async () => {
    const bytes = await written({ format: 'qcow2' });
    const l2 = Number(bytes.readBigUInt64BE(Number(bytes.readBigUInt64BE(40))) & 0x00ff_ffff_ffff_fe00n);
    const entry = bytes.readBigUInt64BE(l2 + 3 * 8);
    bytes.writeBigUInt64BE(entry + 512n, l2 + 3 * 8);
    const reader = await openDisk('qcow2', bufferSource(bytes));
    await expect(collect(reader.streamRange(3 * 64 * KiB, 3 * 64 * KiB + 1))).rejects.toThrow(
      /data cluster 3 at \d+ is off a cluster boundary/,
    );
  });

  it('a dynamic vhd whose BAT entry points past the end of the file', async () => {
    const bytes = await written({ format: 'vhd', subformat: 'dynamic' });
    const bat = Number(bytes.readBigUInt64BE(512 + 16));
    bytes.writeUInt32BE(bytes.length, bat + 4); // block 1, in sectors: far past the end
    const reader = await openDisk('vhd', bufferSource(bytes));
    await expect(collect(reader.streamRange(0, MiB))).resolves.toHaveLength(MiB);
    await expect(collect(reader.streamRange(3 * MiB, 3 * MiB + 10))).rejects.toThrow(
      new DiskFormatError('vhd: block 1 lies outside the file'),
    );
  });

  it('a vmdk whose grain directory entry points past the end of the file', async () => {
    const bytes = await written({ format: 'vmdk', subformat: 'monolithicSparse' });
    const gd = Number(bytes.readBigUInt64LE(56)) * 512;
    bytes.writeUInt32LE(bytes.length / 512 + 10, gd);
    const reader = await openDisk('vmdk', bufferSource(bytes));
    await expect(collect(reader.streamRange(0, 10))).rejects.toThrow(/grain table 0 at sector \d+ lies outside the file/);
  });
});
