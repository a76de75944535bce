/**
 * ImageRepository on the one table (access patterns in table.ts). Listing keys are derived from the
 * image's immutable creation time and id, so they never need rewriting; `public` images are also
 * projected into the public index, and images in state `creating` into the sparse creating index
 * (GSI4: added on create, removed by the update that moves the image out of `creating`).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Image, ImageState, MemberStatus } from '../../core/image';
import type { ImageRepository, ImageSource, ImageSourcePage, Page, PageRequest } from '../../core/ports';
import { effectiveState, type ImageFilter } from '../../core/image-filter';
import { NotFoundError } from '../../core/errors';
import { INDEXES, imageSortKey, keys } from './table';
import { conditionalUpdate } from './update';
import { getConsistent, putNew } from './items';
import { queryOwnerPartition } from './owner-query';

const ITEM_ONLY = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'GSI4PK', 'GSI4SK', 'entity'];

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
    ...(image.state === 'creating' ? { GSI4PK: keys.creatingImages(), GSI4SK: sk } : {}),
    ...image,
  };
};

export class DynamoImageRepository implements ImageRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(image: Image): Promise<void> {
    await this.claimName(image.owner, image.name, image.id, { exclusive: false });
    try {
      await putNew(this.doc, this.tableName, toImageItem(image), `image ${image.id}`);
    } catch (err) {
      await this.releaseName(image.owner, image.name, image.id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The name record's `holders` is a string set of image ids. An exclusive claim is one conditional
   * ADD: the set is absent (DynamoDB drops an emptied set) or holds only this id. When it fails, the
   * holders are checked once: a holder whose image is deleted is stale (a delete that died before its
   * release) and is dropped, and the claim retried. A holder whose image does not exist yet may be a
   * create in flight, so it always counts.
   */
  async claimName(owner: string, name: string, imageId: string, opts: { exclusive: boolean }): Promise<boolean> {
    const add = (condition?: string) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.imageName(owner, name),
          UpdateExpression: 'ADD holders :ids SET entity = :entity',
          ...(condition && { ConditionExpression: condition }),
          ExpressionAttributeValues: {
            ':ids': new Set([imageId]),
            ':entity': 'ImageName',
            ...(condition && { ':id': imageId, ':one': 1 }),
          },
        }),
      );
    if (!opts.exclusive) {
      await add();
      return true;
    }
    const condition = 'attribute_not_exists(holders) OR (contains(holders, :id) AND size(holders) = :one)';
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await add(condition);
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      if (attempt === 1 || !(await this.dropStaleHolders(owner, name, imageId))) return false;
    }
    return false;
  }

  async releaseName(owner: string, name: string, imageId: string): Promise<void> {
    const key = keys.imageName(owner, name);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'DELETE holders :ids',
        ExpressionAttributeValues: { ':ids': new Set([imageId]) },
      }),
    );
    // An emptied record goes too (only if still empty: a claim may have come in between).
    await this.doc
      .send(new DeleteCommand({ TableName: this.tableName, Key: key, ConditionExpression: 'attribute_not_exists(holders)' }))
      .catch((err) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
  }

  /** Drops holders (other than `except`) whose image is deleted; true when none live remains. */
  private async dropStaleHolders(owner: string, name: string, except: string): Promise<boolean> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.imageName(owner, name), ConsistentRead: true }));
    const holders = [...((out.Item?.holders as Set<string> | undefined) ?? [])].filter((id) => id !== except);
    const stale: string[] = [];
    for (const id of holders) {
      const image = await this.get(id);
      if (image?.state !== 'deleted') return false;
      stale.push(id);
    }
    if (stale.length) {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.imageName(owner, name),
          UpdateExpression: 'DELETE holders :ids',
          ExpressionAttributeValues: { ':ids': new Set(stale) },
        }),
      );
    }
    return true;
  }

  async get(id: string): Promise<Image | undefined> {
    return getConsistent(this.doc, this.tableName, keys.image(id), toImage);
  }

  async update(id: string, expect: { states: ImageState[]; rev?: number }, changes: Partial<Image>): Promise<Image> {
    const set: Record<string, unknown> = { ...changes, updated_at: changes.updated_at ?? new Date().toISOString() };
    const extraSet: string[] = [];
    const extraNames: Record<string, string> = {};
    const extraValues: Record<string, unknown> = {};
    const remove: string[] = [];
    if (changes.public === true) {
      extraSet.push('#g2pk = :g2pk', '#g2sk = #g1sk');
      Object.assign(extraNames, { '#g2pk': 'GSI2PK', '#g2sk': 'GSI2SK', '#g1sk': 'GSI1SK' });
      extraValues[':g2pk'] = keys.publicImages();
    }
    if (changes.public === false) remove.push('GSI2PK', 'GSI2SK');
    // the sparse creating index follows the state
    if (changes.state === 'creating') {
      extraSet.push('#g4pk = :g4pk', '#g4sk = #g1sk');
      Object.assign(extraNames, { '#g4pk': 'GSI4PK', '#g4sk': 'GSI4SK', '#g1sk': 'GSI1SK' });
      extraValues[':g4pk'] = keys.creatingImages();
    } else if (changes.state !== undefined) remove.push('GSI4PK', 'GSI4SK');
    const item = await conditionalUpdate(this.doc, this.tableName, 'image', {
      key: keys.image(id),
      expect: { stateAttribute: 'state', states: expect.states, rev: expect.rev },
      set,
      extraSet: extraSet.length ? extraSet : undefined,
      extraNames,
      extraValues: Object.keys(extraValues).length ? extraValues : undefined,
      remove: remove.length ? remove : undefined,
    });
    return toImage(item);
  }

  async listByOwner(owner: string, page: PageRequest): Promise<Page<Image>> {
    return queryOwnerPartition(this.doc, this.tableName, keys.ownerImages(owner), page, toImage);
  }

  /**
   * One source of the visible-images merge: a Query on the owner (GSI1), public (GSI2) or
   * shared-with (GSI3) index, ascending, `sort key > after`, evaluating at most `limit` entries
   * (DynamoDB applies Limit before the filter: `read` is its ScannedCount). Image-item sources push
   * the filters down as a FilterExpression; acl entries carry no image attributes, so their images
   * are read (BatchGetItem) and the core filters them.
   *
   * An exact-name filter whose owner is known (the caller's own images, or `owner=`) is answered
   * from the name record instead (docs/decisions/name-uniqueness.md): every image holds its name's
   * record before it is written and releases it only after it is renamed or deleted, so the
   * holders are a superset of the owner's images of that name; they are read (BatchGetItem) and
   * checked — O(namesakes), whatever the number of images. More namesakes than `limit`: the index.
   */
  async listSource(
    source: ImageSource,
    account: string,
    opts: { after?: string; limit: number; filter: ImageFilter },
  ): Promise<ImageSourcePage> {
    const limit = Math.min(Math.max(opts.limit, 1), 1000);
    const nameOwner = source === 'owned' ? account : opts.filter.owner;
    if (opts.filter.name !== undefined && nameOwner !== undefined) {
      const byName = await this.listSourceByName(source, account, nameOwner, opts.filter.name, { ...opts, limit });
      if (byName) return byName;
    }
    const idx = source === 'owned' ? INDEXES.byOwner : source === 'public' ? INDEXES.publicImages : INDEXES.sharedWith;
    const pk =
      source === 'owned'
        ? keys.ownerImages(account)
        : source === 'public'
          ? keys.publicImages()
          : keys.sharedWithStatus(account, opts.filter.memberStatus ?? 'accepted');
    const names: Record<string, string> = { '#pk': idx.partitionKey };
    const values: Record<string, unknown> = { ':pk': pk };
    let keyCondition = '#pk = :pk';
    if (opts.after !== undefined) {
      keyCondition += ' AND #sk > :after';
      names['#sk'] = idx.sortKey;
      values[':after'] = opts.after;
    }
    const filter = source === 'shared' ? undefined : filterExpression(opts.filter, names, values);
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: idx.name,
        KeyConditionExpression: keyCondition,
        ...(filter && { FilterExpression: filter }),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        Limit: limit,
      }),
    );
    const rows = out.Items ?? [];
    const read = out.ScannedCount ?? rows.length;
    const lastKey = out.LastEvaluatedKey ? String(out.LastEvaluatedKey[idx.sortKey]) : undefined;
    if (source !== 'shared') {
      return {
        items: rows.map((item) => ({ image: toImage(item), sortKey: String(item[idx.sortKey]) })),
        lastKey,
        exhausted: !out.LastEvaluatedKey,
        read,
      };
    }
    const images = await this.batchGet(rows.map((r) => String(r.PK).slice('IMAGE#'.length)));
    const items = rows.flatMap((r) => {
      const image = images.get(String(r.PK).slice('IMAGE#'.length));
      return image ? [{ image, sortKey: String(r[idx.sortKey]) }] : [];
    });
    return { items, lastKey, exhausted: !out.LastEvaluatedKey, read };
  }

  /**
   * A source answered from the name record of (owner, name): the holders' images of that owner and
   * name (for `public`, the public ones; for `shared`, those whose acl entry for the caller has the
   * asked-for answer), `sort key > after`, in order, exhausted at once. Undefined when the record
   * holds more than `limit` ids.
   */
  private async listSourceByName(
    source: ImageSource,
    account: string,
    owner: string,
    name: string,
    opts: { after?: string; limit: number; filter: ImageFilter },
  ): Promise<ImageSourcePage | undefined> {
    const record = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.imageName(owner, name), ConsistentRead: true }),
    );
    const holders = [...((record.Item?.holders as Set<string> | undefined) ?? [])];
    if (holders.length > opts.limit) return undefined;
    let rows = [...(await this.batchGetItems(holders.map((id) => keys.image(id)))).values()].filter(
      (item) => item.entity === 'Image' && item.owner === owner && item.name === name && (source !== 'public' || item.public === true),
    );
    if (source === 'shared') {
      const status = opts.filter.memberStatus ?? 'accepted';
      const candidates = rows.filter((item) => Array.isArray(item.acl) && item.acl.includes(account));
      const entries = await this.batchGetItems(candidates.map((item) => keys.imageAcl(String(item.id), account)));
      rows = candidates.filter((item) => entries.get(`${keys.image(String(item.id)).PK}|ACL#${account}`)?.member_status === status);
    }
    const sortKey = (item: Record<string, unknown>) => String(item[INDEXES.byOwner.sortKey]);
    const items = rows
      .filter((item) => opts.after === undefined || sortKey(item) > opts.after)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0))
      .map((item) => ({ image: toImage(item), sortKey: sortKey(item) }));
    return { items, exhausted: true, read: holders.length };
  }

  async addAclEntries(imageId: string, accounts: string[]): Promise<void> {
    if (accounts.length === 0) return;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.image(imageId), ConsistentRead: true }));
    if (!out.Item) throw new NotFoundError('image not found');
    // The entry sorts with the image in every listing: it copies the image's own index sort key.
    const sortKey = String(out.Item[INDEXES.byOwner.sortKey]);
    for (const account of accounts) {
      // A new share is pending until the sharee accepts it; writing it again keeps the sharee's answer.
      await this.doc
        .send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...keys.imageAcl(imageId, account),
              entity: 'ImageAcl',
              [INDEXES.sharedWith.partitionKey]: keys.sharedWithStatus(account, 'pending'),
              [INDEXES.sharedWith.sortKey]: sortKey,
              imageId,
              account,
              member_status: 'pending',
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        )
        .catch((err) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        });
    }
  }

  async setMemberStatus(imageId: string, account: string, status: MemberStatus): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.imageAcl(imageId, account),
          UpdateExpression: 'SET member_status = :s, #pk = :pk',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#pk': INDEXES.sharedWith.partitionKey },
          ExpressionAttributeValues: { ':s': status, ':pk': keys.sharedWithStatus(account, status) },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new NotFoundError('image not found');
      throw err;
    }
  }

  async removeAclEntries(imageId: string, accounts: string[] | 'all'): Promise<void> {
    let targets = accounts === 'all' ? [] : accounts;
    if (accounts === 'all') {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'PK = :pk AND begins_with(SK, :acl)',
            ExpressionAttributeValues: { ':pk': keys.image(imageId).PK, ':acl': 'ACL#' },
            ExclusiveStartKey: start,
          }),
        );
        targets = targets.concat((out.Items ?? []).map((i) => String(i.SK).slice('ACL#'.length)));
        start = out.LastEvaluatedKey;
      } while (start);
    }
    for (const account of targets) {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: keys.imageAcl(imageId, account) }));
    }
  }

  private async batchGet(ids: string[]): Promise<Map<string, Image>> {
    const found = new Map<string, Image>();
    for (const item of (await this.batchGetItems([...new Set(ids)].map((id) => keys.image(id)))).values())
      found.set(String(item.id), toImage(item));
    return found;
  }

  /** Items by key (BatchGetItem, consistent, unprocessed keys retried), as `PK|SK` → item. */
  private async batchGetItems(itemKeys: { PK: string; SK: string }[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < itemKeys.length; i += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined = {
        [this.tableName]: { Keys: itemKeys.slice(i, i + 100), ConsistentRead: true },
      };
      for (let attempt = 0; request && Object.keys(request).length && attempt < 8; attempt++) {
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.tableName] ?? []) found.set(`${String(item.PK)}|${String(item.SK)}`, item);
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }
}

/** The ImageFilter as a FilterExpression on image items (the core re-checks every item anyway). */
function filterExpression(f: ImageFilter, names: Record<string, string>, values: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  const eq = (attr: string, value: unknown, op = '=') => {
    const n = `#f_${attr}`;
    const v = `:f_${attr}`;
    names[n] = attr;
    values[v] = value;
    parts.push(`${n} ${op} ${v}`);
  };
  const state = effectiveState(f);
  if (state === 'all') eq('state', 'deleted', '<>');
  else eq('state', state);
  if (f.name !== undefined) eq('name', f.name);
  if (f.nameContains !== undefined) {
    names['#f_name'] = 'name';
    values[':f_namec'] = f.nameContains;
    parts.push('contains(#f_name, :f_namec)');
  }
  if (f.os !== undefined) eq('os', f.os);
  if (f.version !== undefined) eq('version', f.version);
  if (f.type !== undefined) eq('type', f.type);
  if (f.owner !== undefined) eq('owner', f.owner);
  if (f.public !== undefined) eq('public', f.public);
  return parts.length ? parts.join(' AND ') : undefined;
}
