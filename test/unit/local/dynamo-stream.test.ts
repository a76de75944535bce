/**
 * The local DynamoDB stream (local/dynamo-stream.ts) against real dynalite through the real SDK: one
 * record per write that changed an item, with old and new images, none for a write that changed nothing
 * or failed its condition; and the event source mapping's delivery: filters, order, and retry from the
 * first reported batch item failure.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamo';
import { LocalStream, startStreamConsumers, type StreamRecord } from '../../../local/dynamo-stream';

let ddb: LocalDynamo;
let client: DynamoDBClient;
let stream: LocalStream;
const records: StreamRecord[] = [];

beforeAll(async () => {
  stream = new LocalStream('us-east-1');
  stream.subscribe((r) => records.push(r));
  ddb = await startLocalDynamo({ stream });
  client = new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: 'tbl',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
    }),
  );
});

afterAll(async () => {
  client.destroy();
  await ddb.close();
});

const key = (id: string) => ({ PK: { S: id }, SK: { S: 'x' } });

/** Records are appended once the write has answered (a stream is asynchronous, as DynamoDB's is): wait for them. */
async function settled(): Promise<void> {
  let before = -1;
  while (before !== records.length) {
    before = records.length;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('local DynamoDB stream capture', () => {
  it('records INSERT, MODIFY and REMOVE with keys, images and growing sequence numbers; nothing for a no-op or a failed condition', async () => {
    records.length = 0;
    await client.send(new PutItemCommand({ TableName: 'tbl', Item: { ...key('a'), n: { N: '1' } } }));
    await client.send(
      new UpdateItemCommand({
        TableName: 'tbl',
        Key: key('a'),
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '2' } },
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: 'tbl',
        Key: key('a'),
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '2' } },
      }),
    );
    await expect(
      client.send(
        new UpdateItemCommand({
          TableName: 'tbl',
          Key: key('a'),
          UpdateExpression: 'SET n = :n',
          ConditionExpression: 'n = :one',
          ExpressionAttributeValues: { ':n': { N: '3' }, ':one': { N: '1' } },
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await client.send(new DeleteItemCommand({ TableName: 'tbl', Key: key('a') }));
    await client.send(new DeleteItemCommand({ TableName: 'tbl', Key: key('a') }));

    await settled();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(records[0].dynamodb).toMatchObject({
      Keys: key('a'),
      NewImage: { ...key('a'), n: { N: '1' } },
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(records[0].dynamodb.OldImage).toBeUndefined();
    expect(records[1].dynamodb).toMatchObject({ OldImage: { n: { N: '1' } }, NewImage: { n: { N: '2' } } });
    expect(records[2].dynamodb.NewImage).toBeUndefined();
    const seq = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
    expect(seq[0] < seq[1] && seq[1] < seq[2]).toBe(true);
  });

  it('records each item of a BatchWriteItem, and concurrent updates of one item in the order they applied', async () => {
    records.length = 0;
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          tbl: [{ PutRequest: { Item: { ...key('b'), n: { N: '0' } } } }, { PutRequest: { Item: { ...key('c'), n: { N: '0' } } } }],
        },
      }),
    );
    await settled();
    expect(records.map((r) => [r.eventName, r.dynamodb.Keys.PK])).toEqual([
      ['INSERT', { S: 'b' }],
      ['INSERT', { S: 'c' }],
    ]);
    records.length = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        client.send(
          new UpdateItemCommand({
            TableName: 'tbl',
            Key: key('b'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    );
    await settled();
    // each record's old image is the previous record's new image: no interleaving
    expect(records.map((r) => [r.dynamodb.OldImage?.n, r.dynamodb.NewImage?.n])).toEqual(
      Array.from({ length: 8 }, (_, i) => [{ N: String(i) }, { N: String(i + 1) }]),
    );
  });
});

describe('local event source mapping', () => {
  it('delivers passing records in order and retries from the first reported failure, never redelivering what was done', async () => {
    const local = new LocalStream('us-east-1');
    const seen: string[] = [];
    let failOnce = true;
    const consumers = startStreamConsumers(
      local,
      [
        {
          name: 'm',
          filters: [{ dynamodb: { NewImage: { entity: { S: ['Job'] } } } }],
          batchSize: 10,
          maximumRetryAttempts: 3,
          reportBatchItemFailures: true,
          fn: {
            name: 'fn',
            timeoutMs: 5000,
            memoryMb: 128,
            load: () => async (event: { Records: StreamRecord[] }) => {
              for (const r of event.Records) {
                const id = r.dynamodb.Keys.PK as { S: string };
                if (id.S === 'j3' && failOnce) {
                  failOnce = false;
                  return { batchItemFailures: [{ itemIdentifier: r.dynamodb.SequenceNumber }] };
                }
                seen.push(id.S);
              }
              return { batchItemFailures: [] };
            },
          },
        },
      ],
      { retryDelayMs: 1 },
    );
    for (const id of ['j1', 'j2', 'x1', 'j3', 'j4']) {
      local.append('t', 'INSERT', { PK: { S: id } }, undefined, { PK: { S: id }, entity: { S: id.startsWith('j') ? 'Job' : 'Image' } });
    }
    await new Promise((r) => setTimeout(r, 20));
    await consumers.waitForIdle();
    consumers.close();
    expect(seen).toEqual(['j1', 'j2', 'j3', 'j4']);
  });
});
