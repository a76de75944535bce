/** waitForChange (lambdas/core/use-cases/wait-for-change.ts) on a scripted clock: no real waiting. */
import { waitForChange } from '../../../lambdas/core/use-cases/wait-for-change';

function scripted(revs: number[]) {
  let t = 0;
  let i = 0;
  const reads: number[] = [];
  return {
    read: async () => {
      reads.push(t);
      return { rev: revs[Math.min(i++, revs.length - 1)] };
    },
    sleep: async (ms: number) => {
      t += ms;
    },
    now: () => t,
    reads,
  };
}

describe('waitForChange', () => {
  it('answers the first read that differs from the revision at the first read', async () => {
    const s = scripted([3, 3, 3, 4, 5]);
    expect(await waitForChange(s.read, { waitMs: 10_000, pollMs: 500, sleep: s.sleep, now: s.now })).toEqual({ rev: 4 });
    expect(s.reads).toEqual([0, 500, 1000, 1500]);
  });

  it('answers at once when the first read already differs from the client baseline', async () => {
    const s = scripted([7, 8]);
    expect(await waitForChange(s.read, { waitMs: 10_000, pollMs: 500, baseline: 6, sleep: s.sleep, now: s.now })).toEqual({ rev: 7 });
    expect(s.reads).toEqual([0]);
  });

  it('answers the last read when the wait ends unchanged, never reading past the deadline', async () => {
    const s = scripted([2]);
    expect(await waitForChange(s.read, { waitMs: 1200, pollMs: 500, sleep: s.sleep, now: s.now })).toEqual({ rev: 2 });
    expect(s.reads).toEqual([0, 500, 1000, 1200]);
  });

  it('waitMs 0 reads once', async () => {
    const s = scripted([1, 2]);
    await waitForChange(s.read, { waitMs: 0, pollMs: 500, sleep: s.sleep, now: s.now });
    expect(s.reads).toEqual([0]);
  });
});
