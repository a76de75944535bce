/**
 * The UForge repositories on the one table: appliances (by id; an owner's, oldest first) and the
 * machine images generated from them (by id; an appliance's, oldest first). Every change is a
 * conditional write on `state` (and `rev`); consuming a download key is conditional on the key itself,
 * so a key is honoured exactly once however many requests race for it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  Appliance,
  ApplianceImage,
  ApplianceImageRepository,
  ApplianceImageState,
  ApplianceRepository,
  ApplianceState,
} from '../../core/appliance';
import { StateConflictError } from '../../core/errors';
import type { Page, PageRequest } from '../../core/ports';
import { getConsistent, putNew } from './items';
import { queryOwnerPartition } from './owner-query';
import { keys } from './table';
import { conditionalUpdate } from './update';

const strip = <T>(item: Record<string, unknown>): T => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...rest } = item;
  return rest as T;
};

export class DynamoApplianceRepository implements ApplianceRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(appliance: Appliance): Promise<void> {
    const item = {
      ...keys.appliance(appliance.id),
      entity: 'Appliance',
      GSI1PK: keys.ownerAppliances(appliance.owner),
      GSI1SK: `${appliance.created_at}#${appliance.id}`,
      ...appliance,
    };
    await putNew(this.doc, this.tableName, item, `appliance ${appliance.id}`);
  }

  get(id: string): Promise<Appliance | undefined> {
    return getConsistent(this.doc, this.tableName, keys.appliance(id), strip<Appliance>);
  }

  async update(id: string, expect: { states: ApplianceState[]; rev?: number }, changes: Partial<Appliance>): Promise<Appliance> {
    const item = await conditionalUpdate(this.doc, this.tableName, 'appliance', {
      key: keys.appliance(id),
      expect: { stateAttribute: 'state', states: expect.states, rev: expect.rev },
      set: { ...changes, updated_at: changes.updated_at ?? new Date().toISOString() },
    });
    return strip<Appliance>(item);
  }

  listByOwner(owner: string, page: PageRequest): Promise<Page<Appliance>> {
    return queryOwnerPartition(this.doc, this.tableName, keys.ownerAppliances(owner), page, strip<Appliance>);
  }
}

export class DynamoApplianceImageRepository implements ApplianceImageRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(image: ApplianceImage): Promise<void> {
    const item = {
      ...keys.applianceImage(image.id),
      entity: 'ApplianceImage',
      GSI1PK: keys.applianceImages(image.appliance_id),
      GSI1SK: `${image.created_at}#${image.id}`,
      ...image,
    };
    await putNew(this.doc, this.tableName, item, `machine image ${image.id}`);
  }

  get(id: string): Promise<ApplianceImage | undefined> {
    return getConsistent(this.doc, this.tableName, keys.applianceImage(id), strip<ApplianceImage>);
  }

  async update(
    id: string,
    expect: { states: ApplianceImageState[]; rev?: number; downloadKey?: string },
    changes: Partial<ApplianceImage>,
  ): Promise<ApplianceImage> {
    const set = { ...changes, updated_at: changes.updated_at ?? new Date().toISOString() };
    if (expect.downloadKey === undefined) {
      const item = await conditionalUpdate(this.doc, this.tableName, 'machine image', {
        key: keys.applianceImage(id),
        expect: { stateAttribute: 'state', states: expect.states, rev: expect.rev },
        set,
      });
      return strip<ApplianceImage>(item);
    }
    // Consuming a download key: the key itself is the condition (plus the state).
    const names: Record<string, string> = { '#state': 'state', '#key': 'download_key', '#rev': 'rev' };
    const values: Record<string, unknown> = { ':key': expect.downloadKey, ':one': 1 };
    const sets = ['#rev = #rev + :one'];
    Object.entries(set).forEach(([attr, value], i) => {
      names[`#a${i}`] = attr;
      values[`:a${i}`] = value;
      sets.push(`#a${i} = :a${i}`);
    });
    const states = expect.states.map((s, i) => {
      values[`:s${i}`] = s;
      return `:s${i}`;
    });
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.applianceImage(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(PK) AND #key = :key AND #state IN (${states.join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<ApplianceImage>(out.Attributes as Record<string, unknown>);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException)
        throw new StateConflictError('the download key is not valid (it may have been used already)');
      throw err;
    }
  }

  listByAppliance(applianceId: string, page: PageRequest): Promise<Page<ApplianceImage>> {
    return queryOwnerPartition(this.doc, this.tableName, keys.applianceImages(applianceId), page, strip<ApplianceImage>);
  }
}
