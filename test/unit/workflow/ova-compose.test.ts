/**
 * The parts of an ova composed around its stored vmdk (lambdas/workflow/ova-compose.ts): they cover
 * the vmdk exactly once, in order; part 1 carries the tar head and at least 5 MiB of the vmdk, the
 * last part the tar tail; every part but the last is at least 5 MiB (S3's minimum), every copied part
 * at most 5 GiB (S3's maximum), and there are at most 10,000.
 */
import { MAX_PART_NUMBER, MIN_PART_BYTES } from '../../../lambdas/workflow/chunked';
import { MAX_PART_BYTES, planOvaParts, type OvaPart } from '../../../lambdas/workflow/ova-compose';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

function checkPlan(parts: OvaPart[], vmdkSize: number): void {
  expect(parts.length).toBeGreaterThanOrEqual(1);
  expect(parts.length).toBeLessThanOrEqual(MAX_PART_NUMBER);
  expect(parts.map((p) => p.partNumber)).toEqual(parts.map((_, i) => i + 1));
  expect(parts[0]).toMatchObject({ start: 0, head: true, copy: false });
  expect(parts.at(-1)).toMatchObject({ end: vmdkSize, tail: true, copy: false });
  // plain checks per part, one expectation: a big plan has thousands of parts
  const wrong = parts.filter((p, i) => {
    const length = p.end - p.start;
    const middle = i > 0 && i < parts.length - 1;
    return (
      (i > 0 && p.start !== parts[i - 1].end) ||
      length < 0 ||
      length > MAX_PART_BYTES ||
      (i < parts.length - 1 && length < MIN_PART_BYTES) ||
      (middle && (!p.copy || p.head || p.tail)) ||
      // uploaded parts pass through the function's memory: at most 5 MiB of the vmdk each, beyond the one-part case
      (!p.copy && parts.length > 1 && length > MIN_PART_BYTES)
    );
  });
  expect(wrong).toEqual([]);
}

describe('planOvaParts', () => {
  it('uploads a vmdk under 10 MiB as one part, head and tail around it', () => {
    for (const size of [1, 512, 5 * MiB, 10 * MiB - 1]) {
      const parts = planOvaParts(size, 256 * MiB);
      expect(parts).toEqual([{ partNumber: 1, start: 0, end: size, copy: false, head: true, tail: true }]);
    }
  });

  it('from 10 MiB: part 1 uploaded with the first 5 MiB, copied parts, the remainder under 5 MiB uploaded last', () => {
    expect(planOvaParts(10 * MiB, 256 * MiB)).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB, copy: false, head: true, tail: false },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB, copy: true, head: false, tail: false },
      { partNumber: 3, start: 10 * MiB, end: 10 * MiB, copy: false, head: false, tail: true },
    ]);
    // 5 MiB + 2 × 5 MiB copied + 3 MiB + 17 bytes left: the last copy would be under 5 MiB, so those bytes are uploaded
    const size = 18 * MiB + 17;
    const parts = planOvaParts(size, 5 * MiB);
    expect(parts.map((p) => [p.start, p.end, p.copy])).toEqual([
      [0, 5 * MiB, false],
      [5 * MiB, 10 * MiB, true],
      [10 * MiB, 15 * MiB, true],
      [15 * MiB, size, false],
    ]);
    checkPlan(parts, size);
  });

  it('keeps every part within S3 bounds for odd sizes and part sizes', () => {
    const sizes = [10 * MiB, 10 * MiB + 1, 15 * MiB - 1, 15 * MiB, 41 * MiB + 12345, 3 * GiB + 7, 5 * GiB + 5 * MiB, 20 * GiB + 1];
    const partSizes = [1, 5 * MiB, 5 * MiB + 1, 256 * MiB, 5 * GiB, 6 * GiB];
    for (const size of sizes) for (const partBytes of partSizes) checkPlan(planOvaParts(size, partBytes), size);
  });

  it('raises the copied part size to fit 10,000 parts, and clamps it to 5 GiB', () => {
    const big = planOvaParts(2 * TiB, 5 * MiB);
    checkPlan(big, 2 * TiB);
    expect(big.length).toBeLessThanOrEqual(MAX_PART_NUMBER);
    expect(big[1].end - big[1].start).toBeGreaterThan(5 * MiB);
    const clamped = planOvaParts(20 * GiB, 100 * GiB);
    checkPlan(clamped, 20 * GiB);
    expect(clamped[1].end - clamped[1].start).toBe(MAX_PART_BYTES);
  });

  it('refuses an empty vmdk and one beyond what 10,000 parts of 5 GiB hold', () => {
    expect(() => planOvaParts(0, 5 * MiB)).toThrow(RangeError);
    expect(() => planOvaParts(MAX_PART_NUMBER * MAX_PART_BYTES, 5 * MiB)).toThrow(/does not fit/);
  });
});
