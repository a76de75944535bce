import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateDisk, generateDiskBuffer, writeDiskFile } from '../../helpers/disk-content';

const MiB = 1024 * 1024;

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('generateDisk', () => {
  it('yields the same bytes for the same seed, whatever the piece size', async () => {
    // Act
    const a = Buffer.concat(await collect(generateDisk(3 * MiB + 5, 1)));
    const b = Buffer.concat(await collect(generateDisk(3 * MiB + 5, 1, { pieceSize: 77_777 })));

    // Assess
    expect(a.length).toBe(3 * MiB + 5);
    expect(a.equals(b)).toBe(true);
  });

  it('makes a smaller disk a prefix of a larger one, and other seeds differ', () => {
    // Act
    const small = generateDiskBuffer(MiB, 2);
    const large = generateDiskBuffer(2 * MiB, 2);
    const other = generateDiskBuffer(MiB, 3);

    // Assess
    expect(large.subarray(0, MiB).equals(small)).toBe(true);
    expect(other.equals(small)).toBe(false);
  });

  it('mixes zero, text and random blocks like a real disk (about a third compressible to almost nothing)', () => {
    // Prepare
    const disk = generateDiskBuffer(16 * MiB, 4);

    // Act
    let zeroBlocks = 0;
    for (let off = 0; off < disk.length; off += 4096) if (disk.subarray(off, off + 4096).every((b) => b === 0)) zeroBlocks += 1;
    const ratio = gzipSync(disk, { level: 6 }).length / disk.length;

    // Assess
    expect(zeroBlocks / (disk.length / 4096)).toBeGreaterThan(0.2);
    expect(zeroBlocks / (disk.length / 4096)).toBeLessThan(0.5);
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(0.5);
  });

  it('writes the disk to a file and returns its digests', async () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'disk-'));
    const file = path.join(dir, 'disk.raw');

    try {
      // Act
      const result = await writeDiskFile(file, 2 * MiB + 3, 5);

      // Assess
      const bytes = readFileSync(file);
      expect(bytes.equals(generateDiskBuffer(2 * MiB + 3, 5))).toBe(true);
      expect(result).toEqual({
        size: 2 * MiB + 3,
        sha1: createHash('sha1').update(bytes).digest('hex'),
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
