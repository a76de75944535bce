/**
 * The oldest-creating check (lambdas/ops/oldest-creating.ts) on a real local DynamoDB (dynalite) with
 * the service table and its indexes (local/table.ts): images enter the sparse creating index when
 * created `creating` and leave it with the update that moves them out, so one Query finds the oldest.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoImageRepository } from '../../../lambdas/adapters/dynamodb/image-repository';
import type { Image } from '../../../lambdas/core/image';
import { oldestCreatingImage } from '../../../lambdas/ops/oldest-creating';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamo';
import { ensureTable } from '../../../local/table';

const TABLE = 'service';
let ddb: LocalDynamo;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let images: DynamoImageRepository;

beforeAll(async () => {
  ddb = await startLocalDynamo();
  client = new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await ensureTable(client, TABLE);
  images = new DynamoImageRepository(doc, TABLE);
});
afterAll(async () => {
  client.destroy();
  await ddb.close();
});

const image = (id: string, created_at: string, state: Image['state'] = 'creating'): Image => ({
  id,
  owner: 'owner-1',
  name: `image-${id}`,
  version: '1.0.0',
  acl: [],
  tags: {},
  requirements: {},
  os: 'linux',
  type: 'zvol',
  state,
  public: false,
  created_at,
  updated_at: created_at,
  files: [],
  rev: 1,
});

describe('oldestCreatingImage', () => {
  const now = new Date('2026-01-01T12:00:00.000Z');

  it('answers 0 when no image is being created', async () => {
    await images.create(image('active-1', '2026-01-01T00:00:00.000Z', 'active'));
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 0 });
  });

  it('finds the oldest creating image, and the next one once it leaves creating', async () => {
    await images.create(image('c-new', '2026-01-01T11:00:00.000Z'));
    await images.create(image('c-old', '2026-01-01T09:00:00.000Z'));
    await images.create(image('c-mid', '2026-01-01T10:00:00.000Z'));
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 3 * 3600, imageId: 'c-old' });

    await images.update('c-old', { states: ['creating'] }, { state: 'failed' });
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 2 * 3600, imageId: 'c-mid' });
    const item = await images.get('c-old');
    expect(item).not.toHaveProperty('GSI4PK');

    await images.update('c-mid', { states: ['creating'] }, { state: 'active' });
    await images.update('c-new', { states: ['creating'] }, { state: 'failed' });
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 0 });
  });

  it('puts an image back in the index when an update returns it to creating', async () => {
    await images.create(image('again', '2026-01-01T11:30:00.000Z', 'failed'));
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 0 });
    await images.update('again', { states: ['failed'] }, { state: 'creating' });
    expect(await oldestCreatingImage(doc, TABLE, now)).toEqual({ ageSeconds: 1800, imageId: 'again' });
  });
});
