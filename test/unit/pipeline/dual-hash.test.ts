/**
 * DualHash (lambdas/pipeline/dual-hash.ts): sha1 in a worker thread and sha256 here give Node's
 * digests for any chunking, also when the pass is cut into checkpoints (saved states restored in a
 * new DualHash, sha1's worker included), and the same as the single-thread fallback.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DualHash, type DualHashState } from '../../../lambdas/pipeline/dual-hash';

const MiB = 1024 * 1024;
const data = randomBytes(5 * MiB + 12_345);
const expected = {
  sha1: createHash('sha1').update(data).digest('hex'),
  sha256: createHash('sha256').update(data).digest('hex'),
};

/** Feeds `bytes` in pieces of the given sizes, round robin. */
async function feed(hash: DualHash, bytes: Buffer, sizes: number[]): Promise<void> {
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length], bytes.length - off);
    await hash.update(bytes.subarray(off, off + n));
    off += n;
  }
}

describe('DualHash', () => {
  it.each([true, false])('parallel=%s: the digests of Node crypto, pieces of odd sizes', async (parallel) => {
    // Prepare
    const hash = await DualHash.create(undefined, { parallel });
    try {
      expect(hash.parallel).toBe(parallel);

      // Act
      await feed(hash, data, [1, 65_536, 3 * MiB + 7, 16_384, 999_999]);
      const digests = await hash.digest();

      // Assert
      expect(digests).toEqual(expected);
    } finally {
      await hash.close();
    }
  });

  it('resumes from saved states in a new instance (a checkpoint), across parallel and not', async () => {
    // Prepare: three slices, each in its own DualHash, as HashFile's invocations
    const cuts = [0, 1_500_001, 4 * MiB, data.length];
    let state: DualHashState | undefined;
    let digests: { sha1: string; sha256: string } | undefined;

    // Act
    for (let i = 0; i < 3; i++) {
      const hash = await DualHash.create(state, { parallel: i !== 1 });
      try {
        await feed(hash, data.subarray(cuts[i], cuts[i + 1]), [40_000, MiB + 1]);
        if (i < 2) state = structuredClone(await hash.save());
        else digests = await hash.digest();
      } finally {
        await hash.close();
      }
    }

    // Assert
    expect(digests).toEqual(expected);
  });

  it('an empty input gives the digests of nothing', async () => {
    const hash = await DualHash.create(undefined, { parallel: true });
    try {
      expect(await hash.digest()).toEqual({
        sha1: createHash('sha1').digest('hex'),
        sha256: createHash('sha256').digest('hex'),
      });
    } finally {
      await hash.close();
    }
  });
});
