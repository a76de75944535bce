/** The local DynamoDB's read meters (local/read-meter.ts) count what reads evaluated, from DynamoDB's own answers. */
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalDynamo } from '../../../local/dynamo';
import { itemsRead } from '../../../local/read-meter';

describe('local DynamoDB read meters', () => {
  it('counts a filtered Query by its ScannedCount, a GetItem by its item, a BatchGetItem by its responses — only for matching bodies', async () => {
    const ddb = await startLocalDynamo();
    const client = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const meter = (name: string) => `${ddb.endpoint}/--meters/${name}`;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: 'meters',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
      for (let i = 0; i < 30; i++) {
        await client.send(
          new PutItemCommand({
            TableName: 'meters',
            Item: { pk: { S: 'A' }, sk: { S: String(i).padStart(3, '0') }, hit: { BOOL: i === 7 } },
          }),
        );
        await client.send(
          new PutItemCommand({
            TableName: 'meters',
            Item: { pk: { S: 'B' }, sk: { S: String(i).padStart(3, '0') }, hit: { BOOL: false } },
          }),
        );
      }
      expect((await fetch(meter('a'), { method: 'PUT', body: JSON.stringify({ bodyIncludes: '"A"' }) })).status).toBe(200);
      expect(
        (await fetch(meter('q'), { method: 'PUT', body: JSON.stringify({ bodyIncludes: '"A"', operations: ['Query'] }) })).status,
      ).toBe(200);
      expect((await fetch(meter('bad'), { method: 'PUT', body: '{}' })).status).toBe(400);

      const out = await client.send(
        new QueryCommand({
          TableName: 'meters',
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'hit = :t',
          ExpressionAttributeValues: { ':pk': { S: 'A' }, ':t': { BOOL: true } },
          Limit: 20,
        }),
      );
      expect(out.Items).toHaveLength(1);
      // partition B is not metered
      await client.send(
        new QueryCommand({ TableName: 'meters', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'B' } } }),
      );
      await client.send(new GetItemCommand({ TableName: 'meters', Key: { pk: { S: 'A' }, sk: { S: '001' } } }));
      await client.send(
        new BatchGetItemCommand({
          RequestItems: { meters: { Keys: ['002', '003', '999'].map((sk) => ({ pk: { S: 'A' }, sk: { S: sk } })) } },
        }),
      );

      expect(await (await fetch(meter('a'))).json()).toEqual({ requests: 3, items: 20 + 1 + 2 });
      expect(await (await fetch(meter('q'))).json()).toEqual({ requests: 1, items: 20 });
      await fetch(meter('a'), { method: 'DELETE' });
      expect((await fetch(meter('a'))).status).toBe(404);
    } finally {
      client.destroy();
      await ddb.close();
    }
  });

  it('reads the count each read operation reports', () => {
    expect(itemsRead('Query', { ScannedCount: 12, Count: 1 })).toBe(12);
    expect(itemsRead('GetItem', {})).toBe(0);
    expect(itemsRead('BatchGetItem', { Responses: { a: [{}, {}], b: [{}] } })).toBe(3);
    expect(itemsRead('PutItem', {})).toBe(0);
  });
});
