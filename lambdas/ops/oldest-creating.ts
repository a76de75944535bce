/**
 * Scheduled every five minutes (lib/constructs/monitoring.ts): how long the oldest image still in state
 * `creating` has been waiting, as the metric `OldestCreatingImageAgeSeconds` (namespace
 * MachineImageService, dimension service). A build that hangs without its execution ending — or whose
 * end the execution-ended handler could not record — shows up here, and an alarm watches it.
 *
 * One Query with Limit 1 on the sparse GSI4 (lambdas/adapters/dynamodb/table.ts): only images in
 * state `creating` are in it, sorted by creation time, so the cost does not grow with the catalogue.
 * No image being created → 0, so the metric is always present and a missing datapoint means this check
 * itself is broken.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INDEXES, keys } from '../adapters/dynamodb/table';
import { clock, config, documentClient } from '../wiring';
import { METRIC_NAMESPACE, METRIC_SERVICE, OLDEST_CREATING_METRIC } from './metric-names';

export interface OldestCreating {
  ageSeconds: number;
  imageId?: string;
}

/** The oldest `creating` image and its age at `now` (0 when none). */
export async function oldestCreatingImage(doc: DynamoDBDocumentClient, tableName: string, now: Date): Promise<OldestCreating> {
  const index = INDEXES.creatingImages;
  const out = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
      ExpressionAttributeValues: { ':pk': keys.creatingImages() },
      ProjectionExpression: '#sk',
      ScanIndexForward: true,
      Limit: 1,
    }),
  );
  const sortKey = out.Items?.[0]?.[index.sortKey];
  if (typeof sortKey !== 'string') return { ageSeconds: 0 };
  const hash = sortKey.lastIndexOf('#');
  const created = Date.parse(sortKey.slice(0, hash));
  if (Number.isNaN(created)) throw new Error(`unreadable ${index.sortKey} in ${index.name}: ${sortKey}`);
  return { ageSeconds: Math.max(0, Math.floor((now.getTime() - created) / 1000)), imageId: sortKey.slice(hash + 1) };
}

const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });

export async function handler(): Promise<OldestCreating> {
  const oldest = await oldestCreatingImage(documentClient(), config.tableName(), clock.now());
  metrics.addMetric(OLDEST_CREATING_METRIC, MetricUnit.Seconds, oldest.ageSeconds);
  metrics.publishStoredMetrics();
  return oldest;
}
