/**
 * The consumer of the table's stream (lib/constructs/job-events.ts): each record of a job item is one
 * write of that job; the records that are a transition (lambdas/core/job-events.ts) are published to the
 * stack's event bus, in stream order, one PutEvents call each.
 *
 * Failure handling (docs/decisions/job-events.md): records are handled in order; at the first one
 * whose event cannot be published, the handler stops and reports that record as the batch's first
 * failure (`ReportBatchItemFailures`), so Lambda checkpoints everything before it and retries from it —
 * the events already published are not sent again, and none after it is sent before it.
 */
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { jobStateChange } from '../core/job-events';
import type { Job } from '../core/job';
import { jobEventPublisher } from '../wiring';
import { observedTask } from '../observability/powertools';

const toJob = (image: Record<string, AttributeValue> | undefined): Job | undefined =>
  image ? (unmarshall(image as Record<string, SdkAttributeValue>) as unknown as Job) : undefined;

export const handler = observedTask('PublishJobEvents', async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const publisher = jobEventPublisher();
  for (const record of event.Records ?? []) {
    const after = toJob(record.dynamodb?.NewImage);
    if (!after || (after as unknown as { entity?: string }).entity !== 'Job') continue;
    const before = toJob(record.dynamodb?.OldImage);
    const at = record.dynamodb?.ApproximateCreationDateTime ? new Date(record.dynamodb.ApproximateCreationDateTime * 1000) : new Date();
    const change = jobStateChange(before, after, at);
    if (!change) continue;
    try {
      await publisher.publish(change);
    } catch (err) {
      console.error(
        JSON.stringify({
          message: 'job event not published; the record is retried',
          job: change.job,
          status: change.status,
          error: String(err),
        }),
      );
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
});
