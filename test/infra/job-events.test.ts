/**
 * Job state-change events in the template (lib/constructs/job-events.ts): the table streams new and old
 * images; one event source mapping feeds only job items to the publisher, reports batch item failures
 * and ends in a dead-letter queue; the publisher may put events on the stack's own bus and nothing else
 * there; and the local stack reads that mapping as the template declares it (lib/local-template.ts).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ImageServiceStack } from '../../lib/image-service-stack';
import type { CfnTemplate } from '../../lib/local-asl';
import { JOB_STREAM_ENTRY } from '../../lib/constructs/job-events';
import { templateStreamConsumers } from '../../lib/local-template';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new ImageServiceStack(app, 'JobEventsTest');
const template = Template.fromStack(stack);
const json = template.toJSON() as CfnTemplate;

describe('job events', () => {
  it('the table streams new and old images', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  });

  it('one mapping feeds job inserts and modifications to the publisher, in order, with retries and a dead-letter queue', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { entity: { S: ['Job'] } } } }) }],
      },
    });
    const [consumer] = templateStreamConsumers(json);
    expect(consumer).toMatchObject({
      fn: { entry: JOB_STREAM_ENTRY },
      batchSize: 100,
      maximumRetryAttempts: 10,
      reportBatchItemFailures: true,
    });
    expect(consumer.filters).toEqual([{ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { entity: { S: ['Job'] } } } }]);
  });

  it('the publisher puts events on the stack bus and knows it by name', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const [busId] = Object.keys(template.findResources('AWS::Events::EventBus'));
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } })]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: { Ref: busId } }) },
    });
  });
});
