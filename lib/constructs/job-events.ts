/**
 * Job state-change events (docs/decisions/job-events.md): the stack's own event bus, and the consumer
 * of the table's stream that publishes each job transition to it (`lambdas/events/job-stream.ts`).
 *
 * The stream carries every write of every item; the event source mapping's filter passes only job
 * items' inserts and modifications, so the function runs for job writes only. Records are handled in
 * order per item (DynamoDB keeps one item's records in order within a shard) with
 * `ReportBatchItemFailures`: a record whose event could not be published is retried (with
 * everything after it) up to 10 times over at most a day; what still fails goes to a dead-letter
 * queue kept 14 days, never silently.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Data } from './data';
import { createServiceFunction } from './service-function';

export const JOB_STREAM_ENTRY = 'events/job-stream.ts';

export interface JobEventsProps {
  data: Data;
}

export class JobEvents extends Construct {
  readonly bus: EventBus;
  readonly publisher: NodejsFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: JobEventsProps) {
    super(scope, id);
    const { data } = props;
    this.bus = new EventBus(this, 'Bus', { description: 'machine-image-service: Image Job State Change events' });
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.publisher = createServiceFunction(this, 'Publisher', {
      entry: JOB_STREAM_ENTRY,
      roleKey: 'JobEventsPublisher',
      invocation: 'async',
      description: 'Publishes each job transition from the table stream to the event bus',
      timeout: Duration.seconds(60),
      environment: { EVENT_BUS_NAME: this.bus.eventBusName },
    });
    this.bus.grantPutEventsTo(this.publisher);
    Validations.of(this.publisher).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked by the table stream’s event source mapping: records that still fail go to the mapping’s on-failure destination (DeadLetters); a function DLQ never receives them.',
    });
    for (const nagId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id: nagId,
        reason: 'This queue is the dead-letter queue of the stream consumer; an alarm watches its depth (lib/constructs/monitoring.ts).',
      });
    }
    this.publisher.addEventSource(
      new DynamoEventSource(data.table as unknown as ITable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        retryAttempts: 10,
        maxRecordAge: Duration.days(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: { NewImage: { entity: { S: FilterRule.isEqual('Job') } } },
          }),
        ],
      }),
    );
  }
}
