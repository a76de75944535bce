/** The local EventBridge: pattern matching and asynchronous delivery with Lambda's two retries. */
import { matchesPattern, startLocalEvents } from '../../../local/events';
import type { LocalFunction } from '../../../local/lambda';

const event = {
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  detail: { status: 'ABORTED', stateMachineArn: 'arn:aws:states:us-east-1:0:stateMachine:Build', error: null },
};

describe('matchesPattern', () => {
  const pattern = {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: ['arn:aws:states:us-east-1:0:stateMachine:Build'] },
  };

  it('matches every listed field, nested ones included', () => {
    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it.each([
    ['another status', { ...event, detail: { ...event.detail, status: 'SUCCEEDED' } }],
    ['another state machine', { ...event, detail: { ...event.detail, stateMachineArn: 'arn:aws:states:us-east-1:0:stateMachine:Other' } }],
    ['another source', { ...event, source: 'aws.s3' }],
    ['no detail', { source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change' }],
  ])('does not match %s', (_, other) => {
    expect(matchesPattern(pattern, other)).toBe(false);
  });

  it('supports prefix, anything-but and exists', () => {
    expect(matchesPattern({ detail: { stateMachineArn: [{ prefix: 'arn:aws:states:' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': ['SUCCEEDED'] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': 'ABORTED' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { output: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ exists: true }] } }, event)).toBe(true);
  });
});

describe('startLocalEvents', () => {
  it('delivers a matching event to each target, retrying a failed invocation twice, then reporting it', async () => {
    const calls: string[] = [];
    let failuresLeft = 2;
    const flaky: LocalFunction = {
      name: 'Flaky',
      timeoutMs: 1_000,
      memoryMb: 128,
      load: () => async (e: { detail: { status: string } }) => {
        calls.push(`flaky:${e.detail.status}`);
        if (failuresLeft-- > 0) throw new Error('throttled');
        return 'ok';
      },
    };
    const broken: LocalFunction = {
      name: 'Broken',
      timeoutMs: 1_000,
      memoryMb: 128,
      load: () => async () => {
        calls.push('broken');
        throw new Error('down');
      },
    };
    const failed: string[] = [];
    const events = startLocalEvents({
      rules: [{ name: 'Ended', pattern: { detail: { status: ['ABORTED'] } }, targets: [flaky, broken] }],
      retryDelayMs: 5,
      onDeliveryFailed: (rule, target) => failed.push(`${rule}/${target}`),
    });

    expect(events.put({ ...event, detail: { ...event.detail, status: 'SUCCEEDED' } })).toEqual([]);
    expect(events.put(event)).toEqual(['Ended']);
    expect(events.isIdle()).toBe(false);
    await events.waitForIdle();

    expect(calls.filter((c) => c === 'flaky:ABORTED')).toHaveLength(3); // 2 failures, then success
    expect(calls.filter((c) => c === 'broken')).toHaveLength(3); // the first try and two retries
    expect(failed).toEqual(['Ended/Broken']);
  });

  it("cuts a target at its timeout (the target's own limit applies)", async () => {
    const failed: unknown[] = [];
    const slow: LocalFunction = { name: 'Slow', timeoutMs: 20, memoryMb: 128, load: () => () => new Promise((r) => setTimeout(r, 200)) };
    const events = startLocalEvents({
      rules: [{ name: 'R', pattern: {}, targets: [slow] }],
      retryDelayMs: 1,
      onDeliveryFailed: (_, __, err) => failed.push(err),
    });
    events.put(event);
    await events.waitForIdle();
    expect(failed).toEqual([expect.objectContaining({ errorType: 'Sandbox.Timedout' })]);
  });
});
