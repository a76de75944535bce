/**
 * The routes that long-poll (lambdas/dialects/triton/long-poll.ts) can wait their longest: the longest
 * wait plus the margin kept to answer fits in the function's timeout, and the answer comes before API
 * Gateway's integration timeout, both as the synthesized template sets them.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageServiceStack } from '../../lib/image-service-stack';
import type { CfnTemplate } from '../../lib/local-asl';
import { templateRoutes } from '../../lib/local-template';
import { MAX_WAIT_SECONDS, WAIT_MARGIN_MS, WAIT_POLL_MS } from '../../lambdas/dialects/triton/long-poll';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const routes = templateRoutes(Template.fromStack(new ImageServiceStack(app, 'LongPollTest')).toJSON() as CfnTemplate);

describe.each(['GetJob', 'GetImage'])('%s long-polls within its limits', (operation) => {
  const route = routes.get(operation)!;
  const longest = MAX_WAIT_SECONDS * 1000 + WAIT_POLL_MS;

  it('the longest wait (and its last read) ends before the function times out, with the margin left', () => {
    expect(longest + WAIT_MARGIN_MS).toBeLessThanOrEqual(route.fn.timeoutSeconds * 1000);
  });

  it('and before API Gateway stops waiting for the integration', () => {
    expect(longest + WAIT_MARGIN_MS).toBeLessThanOrEqual(route.integrationTimeoutMs);
  });
});
