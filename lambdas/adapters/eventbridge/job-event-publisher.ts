/**
 * Publishes job state changes (lambdas/core/job-events.ts) to the stack's event bus: one PutEvents
 * entry per change. PutEvents can accept a call and still refuse an entry (`FailedEntryCount`); a
 * refused entry is an error here, so the stream consumer retries the record it came from.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { JOB_EVENT_DETAIL_TYPE, JOB_EVENT_SOURCE, type JobStateChange } from '../../core/job-events';

export class EventBridgeJobEventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(change: JobStateChange): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: JOB_EVENT_SOURCE,
            DetailType: JOB_EVENT_DETAIL_TYPE,
            Time: new Date(change.time),
            Resources: [],
            Detail: JSON.stringify(change),
          },
        ],
      }),
    );
    const entry = out.Entries?.[0];
    if ((out.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
      throw new Error(
        `PutEvents refused the ${change.status} event of job ${change.job}: ${entry?.ErrorCode ?? 'no event id'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
