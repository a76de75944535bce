/**
 * DeflatePool (formats/deflate.ts): persistent, reset zlib streams give each input exactly the bytes
 * a fresh deflate of it gives (level > 0), in raw and zlib framing, with more inputs in flight than
 * streams, and every output inflates back to its input.
 */
import * as zlib from 'node:zlib';
import { randomFillSync } from 'node:crypto';
import { DeflatePool } from '../../../../lambdas/pipeline/formats/deflate';
import { generateDiskBuffer } from '../../../helpers/disk-content';

const inputs = [
  ...Array.from({ length: 12 }, (_, i) => generateDiskBuffer(64 * 1024, 100 + i)),
  randomFillSync(Buffer.alloc(64 * 1024)),
  Buffer.alloc(64 * 1024),
  Buffer.from('short'),
];

describe('DeflatePool', () => {
  it.each([
    ['raw', 4, (b: Buffer) => zlib.deflateRawSync(b, { level: 4 }), (b: Buffer) => zlib.inflateRawSync(b)],
    ['zlib', 6, (b: Buffer) => zlib.deflateSync(b, { level: 6 }), (b: Buffer) => zlib.inflateSync(b)],
    ['zlib', 0, (b: Buffer) => zlib.deflateSync(b, { level: 0 }), (b: Buffer) => zlib.inflateSync(b)],
  ] as const)('%s level %d: each output equals a fresh deflate and inflates to its input', async (format, level, fresh, inflate) => {
    // Arrange
    const pool = new DeflatePool(format, level, 2);

    // Act: every input at once, twice over (streams are reused and reset)
    const outs = await Promise.all([...inputs, ...inputs].map((b) => pool.deflate(b)));
    pool.close();

    // Assert
    outs.forEach((out, i) => {
      const input = inputs[i % inputs.length];
      // stored blocks (level 0) are cut where the output buffer ends: valid and as small, not the same cut
      if (level > 0) expect(out.equals(fresh(input))).toBe(true);
      else expect(out.length).toBeLessThanOrEqual(input.length + 64);
      expect(inflate(out).equals(input)).toBe(true);
    });
  });

  it('refuses work once closed', async () => {
    const pool = new DeflatePool('raw', 6, 1);
    pool.close();
    await expect(pool.deflate(Buffer.from('x'))).rejects.toThrow(/closed/);
  });
});
