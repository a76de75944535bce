import { correlationIdFrom, currentCorrelationId, withCorrelationId } from '../../../lambdas/observability/correlation';
import { tracingWanted } from '../../../lambdas/observability/powertools';

describe('correlation id', () => {
  it("is the caller's X-Request-Id when it is a plain token, whatever the header's case", () => {
    expect(correlationIdFrom({ 'X-Request-Id': 'abc-123_x.y:z' }, 'gw')).toBe('abc-123_x.y:z');
    expect(correlationIdFrom({ 'x-request-id': 'req-1' }, 'gw')).toBe('req-1');
  });

  it("is the gateway's request id when the header is absent, empty, too long or not a plain token", () => {
    for (const bad of [undefined, '', 'a'.repeat(129), 'line\nbreak', '{"json":1}', 'with space', 'é']) {
      expect(correlationIdFrom(bad === undefined ? {} : { 'x-request-id': bad }, 'gw-id')).toBe('gw-id');
    }
    expect(correlationIdFrom(null, 'gw-id')).toBe('gw-id');
  });

  it('is scoped to the work run inside it, concurrent runs apart', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    const seen = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        withCorrelationId(id, async () => {
          await new Promise((r) => setTimeout(r, 5));
          return currentCorrelationId();
        }),
      ),
    );
    expect(seen).toEqual(['a', 'b', 'c']);
  });
});

describe('tracing', () => {
  it('is wanted only in Lambda, and not when switched off or under SAM/Amplify mocks', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(true);
    expect(tracingWanted({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'FALSE' })).toBe(false);
    expect(tracingWanted({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingWanted({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
  });
});
