/** One page of an owner partition of the by-owner index (GSI1), with the opaque cursor. */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Page, PageRequest } from '../../core/ports';
import { decodeCursor, encodeCursor } from './cursor';
import { INDEXES } from './table';

export async function queryOwnerPartition<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  partition: string,
  page: PageRequest,
  toItem: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const idx = INDEXES.byOwner;
  const out = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: idx.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': idx.partitionKey },
      ExpressionAttributeValues: { ':pk': partition },
      Limit: page.limit,
      ExclusiveStartKey: decodeCursor(page.cursor, ['PK', 'SK', idx.partitionKey, idx.sortKey]),
    }),
  );
  return { items: (out.Items ?? []).map(toItem), cursor: encodeCursor(out.LastEvaluatedKey) };
}
