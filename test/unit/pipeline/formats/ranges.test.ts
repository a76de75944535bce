/**
 * Formats built by ranges (lambdas/pipeline/formats/ranges.ts), as a chunked build does it: each
 * range encoded on its own (in reverse order, to show no range depends on another), the assembly
 * given the indexes, the parts concatenated head ‖ ranges ‖ tail. The file passes `qemu-img check`
 * (qcow2), `qemu-img info` names the format and size, `qemu-img compare` finds it identical to the
 * source, and our reader gives the source back byte for byte. Parts obey S3's rule, scaled down: every
 * part followed by another is at least `minPart` bytes.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bufferSource, collect, openDisk, type OutputSpec } from '../../../../lambdas/pipeline/formats';
import { rangeFormat, supportsRanges } from '../../../../lambdas/pipeline/formats/range-formats';
import { unpackIndex } from '../../../../lambdas/pipeline/formats/ranges';
import { hasQemuImg, pieces, qemuImg } from '../../../helpers/disk-formats';
import { generateDiskBuffer } from '../../../helpers/disk-content';

const KiB = 1024;
const MiB = 1024 * KiB;
const dir = mkdtempSync(path.join(tmpdir(), 'ranges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPECS: { label: string; spec: OutputSpec; qemu: string; check: boolean }[] = [
  { label: 'qcow2', spec: { format: 'qcow2' }, qemu: 'qcow2', check: true },
  { label: 'qcow2 compressed', spec: { format: 'qcow2', compressed: true }, qemu: 'qcow2', check: true },
  { label: 'vhd dynamic', spec: { format: 'vhd', subformat: 'dynamic' }, qemu: 'vpc', check: false },
  { label: 'vhd fixed', spec: { format: 'vhd', subformat: 'fixed' }, qemu: 'vpc', check: false },
  { label: 'vmdk streamOptimized', spec: { format: 'vmdk', subformat: 'streamOptimized' }, qemu: 'vmdk', check: true },
  { label: 'vmdk monolithicSparse', spec: { format: 'vmdk', subformat: 'monolithicSparse' }, qemu: 'vmdk', check: true },
];

function disks(): { name: string; data: Buffer }[] {
  const sparseEnd = Buffer.alloc(9 * MiB + 3 * 512);
  sparseEnd.write('data only at the end of the disk', sparseEnd.length - 100);
  const mixed = generateDiskBuffer(10 * MiB + 12345, 11); // not a multiple of 512, 64 KiB or 2 MiB
  return [
    { name: 'zeros', data: Buffer.alloc(8 * MiB) },
    { name: 'random', data: randomFillSync(Buffer.alloc(6 * MiB + 64 * KiB)) },
    { name: 'mixed', data: mixed },
    { name: 'sparse-end', data: sparseEnd },
  ];
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** What BuildRange and AssembleFile do, in memory: the file's parts in part-number order. */
async function buildByRanges(spec: OutputSpec, data: Buffer, rangeBytes: number, minPart: number): Promise<Buffer[]> {
  const format = rangeFormat(spec, data.length)!;
  let ranges = Math.ceil(data.length / rangeBytes);
  // as planRanges(…, minLastRange) does, scaled to minPart: a short last range joins the one before
  if (format.minLastRange && ranges > 1 && data.length - (ranges - 1) * rangeBytes < minPart) ranges--;
  const encoded = new Array<{ bytes: Buffer; index: Buffer }>(ranges);
  for (let i = ranges - 1; i >= 0; i--) {
    const start = i * rangeBytes;
    const end = i === ranges - 1 ? data.length : start + rangeBytes;
    const followed = i < ranges - 1 || format.hasTail;
    const { parts, length, index } = await format.encodeRange({
      raw: pieces(data.subarray(start, end), 100_000),
      start,
      end,
      ...(followed && { padTo: minPart }),
    });
    const bytes = Buffer.concat(parts);
    expect(bytes.length).toBe(length);
    expect(unpackIndex(index).length).toBe(length);
    encoded[i] = { bytes, index };
  }
  const { head, tail } = format.assemble(
    encoded.map((e) => e.index),
    { minHeadBytes: minPart },
  );
  // parts 1 and n + 2 are absent when empty; a range's part is always uploaded, empty or not
  return [...(head.length > 0 ? [head] : []), ...encoded.map((e) => e.bytes), ...(tail.length > 0 ? [tail] : [])];
}

const maybe = hasQemuImg ? describe : describe.skip;

maybe('disk formats built by ranges, checked by qemu-img', () => {
  const cases = SPECS.flatMap((s) => disks().map((d) => ({ ...s, disk: d.name, data: d.data })));

  it.each(cases)(
    '$label of $disk in 2 MiB ranges: check/info/compare, read back byte for byte',
    async ({ label, spec, qemu, check, disk, data }) => {
      // Prepare
      const source = path.join(dir, `${disk}.raw`);
      writeFileSync(source, data);
      const file = path.join(dir, `${disk}.${label.replace(/ /g, '-')}`);
      const minPart = MiB;

      // Act
      const parts = await buildByRanges(spec, data, 2 * MiB, minPart);
      const bytes = Buffer.concat(parts);
      writeFileSync(file, bytes);

      // Assert: S3's part rule (scaled), then the file
      for (const p of parts.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(minPart);
      if (check) {
        const result = qemuImg(['check', '-f', qemu, file]);
        expect(result.out).toMatch(/No errors were found/);
        expect(result.status).toBe(0);
      }
      const info = JSON.parse(qemuImg(['info', '--output=json', '-f', qemu, file]).out) as { format: string; 'virtual-size': number };
      expect(info).toMatchObject({ format: qemu, 'virtual-size': padded(data).length });
      expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, source, file]).out).toMatch(/Images are identical/);
      const reader = await openDisk(spec.format as 'qcow2' | 'vhd', bufferSource(bytes));
      expect((await collect(reader.stream())).equals(padded(data))).toBe(true);
    },
  );

  it.each(SPECS)(
    '$label: 6 MiB ranges with 5 MiB parts (one range of zeros), the last range shorter and not whole clusters',
    async ({ spec, qemu, check, label }) => {
      const data = generateDiskBuffer(17 * MiB + 777, 5);
      data.fill(0, 5 * MiB, 11 * MiB); // a range of zeros: padded to the minimum part size
      const source = path.join(dir, `big.raw`);
      writeFileSync(source, data);
      const file = path.join(dir, `big.${label.replace(/ /g, '-')}`);
      const parts = await buildByRanges(spec, data, 6 * MiB, 5 * MiB);
      writeFileSync(file, Buffer.concat(parts));
      for (const p of parts.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(5 * MiB);
      if (check) expect(qemuImg(['check', '-f', qemu, file]).status).toBe(0);
      expect(qemuImg(['compare', '-f', 'raw', '-F', qemu, source, file]).out).toMatch(/Images are identical/);
    },
  );
});

describe('range formats', () => {
  it('exist for raw, qcow2, vhd and vmdk (both subformats), and an uncompressed ova (its vmdk); a gzipped ova builds in one invocation', async () => {
    expect(supportsRanges(undefined)).toBe(true);
    expect(supportsRanges({ format: 'raw' })).toBe(true);
    expect(supportsRanges({ format: 'qcow2', compressed: true })).toBe(true);
    expect(supportsRanges({ format: 'vhd', subformat: 'fixed' })).toBe(true);
    expect(supportsRanges({ format: 'vmdk' })).toBe(true);
    expect(supportsRanges({ format: 'vmdk', subformat: 'streamOptimized' })).toBe(true);
    expect(supportsRanges({ format: 'vmdk', subformat: 'monolithicSparse' })).toBe(true);
    expect(supportsRanges({ format: 'ova' })).toBe(true);
    expect(supportsRanges({ format: 'ova' }, 'none')).toBe(true);
    expect(supportsRanges({ format: 'ova' }, 'gzip')).toBe(false);
    expect(supportsRanges({ format: 'vmdk' }, 'gzip')).toBe(true);
    // an ova's ranges write its streamOptimized vmdk, whose descriptor names the ova's disk entry
    const ova = rangeFormat({ format: 'ova', ova: { name: 'web server' } }, MiB)!;
    const { index } = await ova.encodeRange({ raw: pieces(Buffer.alloc(MiB, 7)), start: 0, end: MiB });
    expect(ova.assemble([index]).head.toString('latin1')).toContain('"web_server-disk1.vmdk"');
  });

  it('refuse a range that does not start on the allocation unit, and indexes that do not cover the disk', async () => {
    const qcow2 = rangeFormat({ format: 'qcow2' }, 4 * MiB)!;
    await expect(qcow2.encodeRange({ raw: pieces(Buffer.alloc(MiB)), start: 512, end: MiB + 512 })).rejects.toThrow(/aligned/);
    const vhd = rangeFormat({ format: 'vhd' }, 4 * MiB)!;
    await expect(vhd.encodeRange({ raw: pieces(Buffer.alloc(MiB)), start: MiB, end: 2 * MiB })).rejects.toThrow(/aligned/);
    const first = await qcow2.encodeRange({ raw: pieces(Buffer.alloc(2 * MiB, 1)), start: 0, end: 2 * MiB });
    expect(() => qcow2.assemble([first.index])).toThrow(/cover/);
    // a vmdk range pads with its own zero grains: one too short for the part size is refused, not left short
    const vmdk = rangeFormat({ format: 'vmdk' }, 4 * MiB)!;
    await expect(vmdk.encodeRange({ raw: pieces(Buffer.alloc(MiB)), start: 0, end: MiB, padTo: 5 * MiB })).rejects.toThrow(/padded/);
  });

  it('keeps the index of a sparse range small', async () => {
    const qcow2 = rangeFormat({ format: 'qcow2' }, 256 * MiB)!;
    const range = Buffer.alloc(256 * MiB);
    range.write('boot', 0);
    const { index, length } = await qcow2.encodeRange({ raw: pieces(range, MiB), start: 0, end: range.length });
    expect(length).toBe(64 * KiB);
    expect(index.length).toBeLessThan(200);
  });
});
