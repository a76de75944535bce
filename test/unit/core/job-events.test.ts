/** Which write of a job is which transition (lambdas/core/job-events.ts). */
import { jobStateChange } from '../../../lambdas/core/job-events';
import type { Job } from '../../../lambdas/core/job';

const at = new Date('2026-01-01T00:00:10Z');
const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1',
  owner: 'acct',
  type: 'CreateImageFromMachine',
  status: 'INIT',
  progress: 0,
  entities: { image_id: 'img' },
  created_at: '2026-01-01T00:00:00Z',
  rev: 0,
  ...over,
});

describe('jobStateChange', () => {
  it('a new job is created', () => {
    expect(jobStateChange(undefined, job(), at)).toEqual({
      account: 'acct',
      job: 'j1',
      image: 'img',
      type: 'CreateImageFromMachine',
      status: 'created',
      progress: 0,
      time: '2026-01-01T00:00:00Z',
      revision: 0,
    });
  });

  it('INIT → RUNNING is running, at its begin time', () => {
    expect(jobStateChange(job(), job({ status: 'RUNNING', begin_time: '2026-01-01T00:00:01Z', rev: 1 }), at)).toMatchObject({
      status: 'running',
      time: '2026-01-01T00:00:01Z',
      revision: 1,
    });
  });

  it.each([
    [9, 12, true],
    [12, 19, false],
    [5, 35, true],
    [0, 9, false],
    [90, 99, false],
    [40, 30, false],
  ])('progress %i → %i is a step: %s', (from, to, step) => {
    const change = jobStateChange(job({ status: 'RUNNING', progress: from }), job({ status: 'RUNNING', progress: to }), at);
    expect(change === undefined).toBe(!step);
    if (step) expect(change).toMatchObject({ status: 'running', progress: to, time: at.toISOString() });
  });

  it('the ends, with the error on failed and cancelled only', () => {
    const running = job({ status: 'RUNNING', progress: 50 });
    expect(jobStateChange(running, job({ status: 'SUCCESS', progress: 100, end_time: '2026-01-01T00:00:09Z' }), at)).toEqual(
      expect.objectContaining({ status: 'succeeded', progress: 100, time: '2026-01-01T00:00:09Z' }),
    );
    expect(jobStateChange(running, job({ status: 'SUCCESS', progress: 100 }), at)).not.toHaveProperty('error');
    expect(
      jobStateChange(running, job({ status: 'FAIL', progress: 50, error_code: 'SourceUnreadable', fail_reason: 'no' }), at),
    ).toMatchObject({ status: 'failed', error: { code: 'SourceUnreadable', message: 'no' } });
    expect(jobStateChange(running, job({ status: 'CANCELLED', error_code: 'Cancelled', fail_reason: 'by owner' }), at)).toMatchObject({
      status: 'cancelled',
      error: { code: 'Cancelled' },
    });
  });

  it('writes that change neither status nor tenth are no transition', () => {
    expect(
      jobStateChange(
        job({ status: 'RUNNING', progress: 20 }),
        job({ status: 'RUNNING', progress: 20, execution_arn: 'arn', eta: 'x' }),
        at,
      ),
    ).toBeUndefined();
    expect(jobStateChange(job(), job({ execution_arn: 'arn' }), at)).toBeUndefined();
  });
});
