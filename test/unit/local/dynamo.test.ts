import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { startLocalDynamo } from '../../../local/dynamo';

function makeClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

async function createTable(client: DynamoDBClient): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: 'jobs',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}

describe('local DynamoDB (dynalite)', () => {
  it('serves in memory on 127.0.0.1, tables ACTIVE at once', async () => {
    const ddb = await startLocalDynamo();
    const client = makeClient(ddb.endpoint);
    try {
      expect(ddb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await createTable(client);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'jobs' }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: { pk: { S: 'a' }, n: { N: '1' } } }));
      const { Item } = await client.send(new GetItemCommand({ TableName: 'jobs', Key: { pk: { S: 'a' } } }));
      expect(Item).toEqual({ pk: { S: 'a' }, n: { N: '1' } });
    } finally {
      client.destroy();
      await ddb.close();
    }
  });

  it('persists under dataDir across a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'local-ddb-'));
    try {
      const first = await startLocalDynamo({ dataDir: path.join(dataDir, 'ddb') });
      const c1 = makeClient(first.endpoint);
      await createTable(c1);
      // on disk the switch to ACTIVE is a LevelDB write that can land after CreateTable answers: wait, as a
      // DynamoDB client must (local/table.ts does the same for the service table)
      await waitUntilTableExists({ client: c1, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { TableName: 'jobs' });
      await c1.send(new PutItemCommand({ TableName: 'jobs', Item: { pk: { S: 'kept' } } }));
      c1.destroy();
      await first.close();

      const second = await startLocalDynamo({ dataDir: path.join(dataDir, 'ddb') });
      const c2 = makeClient(second.endpoint);
      try {
        const { Item } = await c2.send(new GetItemCommand({ TableName: 'jobs', Key: { pk: { S: 'kept' } } }));
        expect(Item).toEqual({ pk: { S: 'kept' } });
      } finally {
        c2.destroy();
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
