import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compressChunk, looksIncompressible, planRuns, CLASSIFY_BLOCK } from '../../../lambdas/pipeline/members';
import { generateDiskBuffer } from '../../helpers/disk-content';

const KiB = 1024;

function logText(size: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const line = `2024-05-17T06:${String(i % 60).padStart(2, '0')}:00Z web-01 nginx[${1000 + (i % 7)}]: GET /api/v1/images?page=${i % 13} 200 ${(i * 37) % 5000}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

describe('looksIncompressible', () => {
  it.each([
    ['random bytes', () => randomBytes(CLASSIFY_BLOCK), true],
    [
      'gzip output (of hex text)',
      () => gzipSync(Buffer.from(randomBytes(4 * CLASSIFY_BLOCK).toString('hex'))).subarray(100, 100 + CLASSIFY_BLOCK),
      true,
    ],
    ['zeros', () => Buffer.alloc(CLASSIFY_BLOCK), false],
    ['log text', () => logText(CLASSIFY_BLOCK), false],
    ['random bytes with a 4 KiB hole of zeros', () => randomBytes(CLASSIFY_BLOCK).fill(0, 0, 4 * KiB), false],
    [
      'one random byte in 16, zeros between',
      () => {
        const b = Buffer.alloc(CLASSIFY_BLOCK);
        const r = randomBytes(CLASSIFY_BLOCK / 16);
        for (let i = 0; i < r.length; i++) b[i * 16] = r[i];
        return b;
      },
      false,
    ],
    ['random hex digits', () => Buffer.from(randomBytes(CLASSIFY_BLOCK / 2).toString('hex')), false],
    ['a block smaller than the samples', () => randomBytes(2 * KiB), false],
  ])('classifies %s', (_name, make, expected) => {
    // Prepare
    const block = make();

    // Act
    const result = looksIncompressible(block, 0, block.length);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('planRuns', () => {
  it('merges neighbouring blocks of the same kind', () => {
    // Prepare
    const buf = Buffer.concat([logText(2 * CLASSIFY_BLOCK), randomBytes(3 * CLASSIFY_BLOCK), Buffer.alloc(CLASSIFY_BLOCK + 5)]);

    // Act
    const runs = planRuns(buf);

    // Assess
    expect(runs).toEqual([
      { start: 0, end: 2 * CLASSIFY_BLOCK, stored: false },
      { start: 2 * CLASSIFY_BLOCK, end: 5 * CLASSIFY_BLOCK, stored: true },
      { start: 5 * CLASSIFY_BLOCK, end: buf.length, stored: false },
    ]);
  });
});

describe('compressChunk', () => {
  it.each([true, false])('decompresses to exactly the input (storeIncompressible %s)', async (store) => {
    // Prepare
    const input = generateDiskBuffer(3 * 1024 * KiB + 123, 41);

    // Act
    const out = await compressChunk(input, 6, store);

    // Assess
    expect(gunzipSync(out).equals(input)).toBe(true);
  });

  it('stores random bytes instead of deflating them, no larger than deflate would', async () => {
    // Prepare
    const input = randomBytes(8 * CLASSIFY_BLOCK);

    // Act
    const stored = await compressChunk(input, 6, true);
    const deflated = await compressChunk(input, 6, false);

    // Assess
    expect(stored.length).toBeLessThanOrEqual(deflated.length);
    expect(stored.length).toBeLessThan(input.length * 1.001);
    expect(gunzipSync(stored).equals(input)).toBe(true);
  });

  it('compresses the compressible runs as before', async () => {
    // Prepare
    const input = Buffer.concat([logText(4 * CLASSIFY_BLOCK), randomBytes(4 * CLASSIFY_BLOCK)]);

    // Act
    const out = await compressChunk(input, 6, true);

    // Assess
    expect(out.length).toBeLessThan(input.length * 0.6);
    expect(gunzipSync(out).equals(input)).toBe(true);
  });
});
