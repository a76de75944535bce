/** The two single-item operations every repository shares: a create that never overwrites, and a consistent read. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../../core/errors';

/** Puts `item` only if no item has its key; an existing one is a StateConflictError naming `what`. */
export async function putNew(doc: DynamoDBDocumentClient, tableName: string, item: Record<string, unknown>, what: string): Promise<void> {
  try {
    await doc.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' }));
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) throw new StateConflictError(`${what} already exists`);
    throw err;
  }
}

export async function getConsistent<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, string>,
  toItem: (item: Record<string, unknown>) => T,
): Promise<T | undefined> {
  const out = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return out.Item ? toItem(out.Item) : undefined;
}
