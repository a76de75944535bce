import { MAX_RANGES, MIN_PART_BYTES, partNumberOf, planRanges, rangeBounds } from '../../../lambdas/workflow/chunked';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('planRanges', () => {
  it('uses the preferred range size when the disk fits in MAX_RANGES ranges', () => {
    expect(planRanges(10 * GiB, 256 * MiB)).toEqual({ rangeBytes: 256 * MiB, ranges: 40 });
    expect(planRanges(10 * GiB + 1, 256 * MiB)).toEqual({ rangeBytes: 256 * MiB, ranges: 41 });
  });

  it('grows ranges (in whole MiB) so 1 TiB needs at most MAX_RANGES of them', () => {
    const plan = planRanges(1024 * GiB, 256 * MiB);
    expect(plan.ranges).toBeLessThanOrEqual(MAX_RANGES);
    expect(plan.rangeBytes % MiB).toBe(0);
    expect(plan.rangeBytes * plan.ranges).toBeGreaterThanOrEqual(1024 * GiB);
    expect(partNumberOf(plan.ranges - 1) + 1).toBeLessThanOrEqual(10_000);
  });

  it('never plans ranges under S3 minimum part size, and refuses what cannot be planned', () => {
    expect(planRanges(100 * MiB, 1).rangeBytes).toBe(MIN_PART_BYTES);
    expect(() => planRanges(0, 256 * MiB)).toThrow();
    expect(() => planRanges(4096 * GiB, 256 * MiB)).toThrow(/over/);
  });

  it("aligns ranges to a disk format's allocation unit (vhd blocks of 2 MiB; qcow2 clusters divide 1 MiB)", () => {
    expect(planRanges(GiB, 5 * MiB, 2 * MiB)).toEqual({ rangeBytes: 6 * MiB, ranges: Math.ceil(GiB / (6 * MiB)) });
    expect(planRanges(GiB, 5 * MiB, 64 * 1024).rangeBytes).toBe(5 * MiB);
    const big = planRanges(1024 * GiB, 256 * MiB, 2 * MiB); // 525 MiB in whole MiB, 526 in whole 2 MiB
    expect(big.rangeBytes % (2 * MiB)).toBe(0);
    expect(big.ranges).toBeLessThanOrEqual(MAX_RANGES);
    expect(() => planRanges(GiB, 256 * MiB, 3000)).toThrow(/alignment/);
  });

  it('joins a last range shorter than minLastRange to the one before (a vmdk range pads itself with its own grains)', () => {
    const size = 3 * 16 * MiB + MiB;
    expect(planRanges(size, 16 * MiB)).toEqual({ rangeBytes: 16 * MiB, ranges: 4 });
    const plan = planRanges(size, 16 * MiB, 64 * 1024, MIN_PART_BYTES);
    expect(plan).toEqual({ rangeBytes: 16 * MiB, ranges: 3 });
    expect(rangeBounds(2, plan.rangeBytes, size, plan.ranges)).toEqual({ start: 32 * MiB, end: size });
    expect(rangeBounds(1, plan.rangeBytes, size, plan.ranges)).toEqual({ start: 16 * MiB, end: 32 * MiB });
    expect(planRanges(3 * MiB, 16 * MiB, 1, MIN_PART_BYTES).ranges).toBe(1);
    expect(planRanges(size + 4 * MiB, 16 * MiB, 1, MIN_PART_BYTES).ranges).toBe(4);
  });

  it('cuts the source into contiguous bounds, the last one shorter', () => {
    const size = 3 * MiB * 16 + 5;
    const { rangeBytes, ranges } = planRanges(size, 16 * MiB);
    const bounds = Array.from({ length: ranges }, (_, i) => rangeBounds(i, rangeBytes, size));
    expect(bounds[0].start).toBe(0);
    for (let i = 1; i < ranges; i++) expect(bounds[i].start).toBe(bounds[i - 1].end);
    expect(bounds[ranges - 1].end).toBe(size);
    expect(bounds[ranges - 1].end - bounds[ranges - 1].start).toBe(5);
  });
});
