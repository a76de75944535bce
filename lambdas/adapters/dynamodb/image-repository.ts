/**
 * ImageRepository on the one table (access patterns in table.ts). Listing keys are derived from the
 * image's immutable creation time and id, so they never need rewriting; `public` images are also
 * projected into the public index.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Image, ImageState } from '../../core/image';
import type { ImageRepository, Page, PageRequest } from '../../core/ports';
import { StateConflictError } from '../../core/errors';
import { INDEXES, imageSortKey, keys } from './table';
import { conditionalUpdate } from './update';
import { decodeCursor, encodeCursor } from './cursor';

const ITEM_ONLY = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'entity'];

export const toImage = (item: Record<string, unknown>): Image => {
  const image = { ...item };
  for (const k of ITEM_ONLY) delete image[k];
  return image as unknown as Image;
};

/** The table item of an image: its keys and index keys, then its attributes (bulk loads use it too). */
export const toImageItem = (image: Image): Record<string, unknown> => {
  const sk = imageSortKey({ created_at: image.created_at, id: image.id });
  return {
    ...keys.image(image.id),
    entity: 'Image',
    GSI1PK: keys.ownerImages(image.owner),
    GSI1SK: sk,
    ...(image.public ? { GSI2PK: keys.publicImages(), GSI2SK: sk } : {}),
    ...image,
  };
};

export class DynamoImageRepository implements ImageRepository {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(image: Image): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toImageItem(image),
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new StateConflictError(`image ${image.id} already exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Image | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.image(id), ConsistentRead: true }));
    return out.Item ? toImage(out.Item) : undefined;
  }

  async update(id: string, expect: { states: ImageState[]; rev?: number }, changes: Partial<Image>): Promise<Image> {
    const set: Record<string, unknown> = { ...changes, updated_at: changes.updated_at ?? new Date().toISOString() };
    const extraSet: string[] = [];
    const extraNames: Record<string, string> = {};
    if (changes.public === true) {
      extraSet.push('#g2pk = :g2pk', '#g2sk = #g1sk');
      Object.assign(extraNames, { '#g2pk': 'GSI2PK', '#g2sk': 'GSI2SK', '#g1sk': 'GSI1SK' });
    }
    const item = await conditionalUpdate(this.doc, this.tableName, 'image', {
      key: keys.image(id),
      expect: { stateAttribute: 'state', states: expect.states, rev: expect.rev },
      set,
      extraSet: extraSet.length ? extraSet : undefined,
      extraNames,
      extraValues: changes.public === true ? { ':g2pk': keys.publicImages() } : undefined,
      remove: changes.public === false ? ['GSI2PK', 'GSI2SK'] : undefined,
    });
    return toImage(item);
  }

  async listByOwner(owner: string, page: PageRequest): Promise<Page<Image>> {
    const idx = INDEXES.byOwner;
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: idx.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': idx.partitionKey },
        ExpressionAttributeValues: { ':pk': keys.ownerImages(owner) },
        Limit: page.limit,
        ExclusiveStartKey: decodeCursor(page.cursor, ['PK', 'SK', idx.partitionKey, idx.sortKey]),
      }),
    );
    return { items: (out.Items ?? []).map(toImage), cursor: encodeCursor(out.LastEvaluatedKey) };
  }
}
