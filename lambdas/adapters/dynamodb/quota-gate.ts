/**
 * QuotaGate on the one table. Images held: a COUNT Query of the owner's image partition (GSI1),
 * stopping as soon as the limit is reached. Concurrent builds: `concurrentBuilds` slot items per
 * account, `BUILDSLOT#<owner>#<n>`, each naming the image that holds it; a slot is taken by a
 * conditional Put (free) or a conditional takeover (its image is no longer `creating`, or was never
 * written after a grace period), so slots are never released explicitly and can never leak.
 * The image count is exact up to the creations in flight, which the build slots bound.
 * Machines are bounded the same way: a COUNT of the owner's machine partition and
 * `concurrentProvisions` slots (`PROVSLOT#<owner>#<n>`) held while the machine is `provisioning`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock, ImageRepository, MachineRepository, QuotaGate } from '../../core/ports';
import { QuotaExceededError, type QuotaLimits, type QuotaUsage } from '../../core/quota';
import { INDEXES, keys } from './table';

/** A slot whose image was never written (the create failed before it) is free after this long. */
const UNWRITTEN_GRACE_MS = 60_000;

/** Build slots hold images being created; provision slots hold machines being provisioned. */
type SlotKind = 'BUILDSLOT' | 'PROVSLOT';
const slotKey = (owner: string, n: number, kind: SlotKind = 'BUILDSLOT') => ({ PK: `${kind}#${owner}#${n}`, SK: 'SLOT' });

export class DynamoQuotaGate implements QuotaGate {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly images: ImageRepository,
    private readonly limits: QuotaLimits,
    private readonly clock: Clock,
    private readonly machines?: MachineRepository,
  ) {}

  private async countImages(owner: string, stopAt: number, partition = keys.ownerImages(owner)): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEXES.byOwner.name,
          KeyConditionExpression: '#pk = :pk',
          FilterExpression: '#state <> :deleted',
          ExpressionAttributeNames: { '#pk': INDEXES.byOwner.partitionKey, '#state': 'state' },
          ExpressionAttributeValues: { ':pk': partition, ':deleted': 'deleted' },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start && count < stopAt);
    return count;
  }

  /** Whether a slot's holder still builds (a missing holder counts as building for a grace period). */
  private async holds(slot: { holder?: string; acquired_at?: string }, kind: SlotKind = 'BUILDSLOT'): Promise<boolean> {
    if (!slot.holder) return false;
    const state = kind === 'BUILDSLOT' ? (await this.images.get(slot.holder))?.state : (await this.machines?.get(slot.holder))?.state;
    if (!state) return Date.parse(slot.acquired_at ?? '') > this.clock.now().getTime() - UNWRITTEN_GRACE_MS;
    return state === (kind === 'BUILDSLOT' ? 'creating' : 'provisioning');
  }

  private async takeSlot(owner: string, imageId: string, kind: SlotKind = 'BUILDSLOT'): Promise<boolean> {
    const now = this.clock.now().toISOString();
    const slots = kind === 'BUILDSLOT' ? this.limits.concurrentBuilds : this.limits.concurrentProvisions;
    for (let n = 0; n < slots; n++) {
      const Item = {
        ...slotKey(owner, n, kind),
        entity: kind === 'BUILDSLOT' ? 'BuildSlot' : 'ProvisionSlot',
        holder: imageId,
        acquired_at: now,
      };
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item, ConditionExpression: 'attribute_not_exists(PK)' }));
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      const current = (
        await this.doc.send(new GetCommand({ TableName: this.tableName, Key: slotKey(owner, n, kind), ConsistentRead: true }))
      ).Item as { holder?: string; acquired_at?: string } | undefined;
      // re-admitting the same image (a use case that checks before writing its own records) keeps its slot
      if (current?.holder === imageId) return true;
      if (!current || (await this.holds(current, kind))) continue;
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item,
            ConditionExpression: 'holder = :old',
            ExpressionAttributeValues: { ':old': current.holder },
          }),
        );
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    return false;
  }

  async admit(owner: string, imageId: string, opts: { build: boolean }): Promise<void> {
    if ((await this.countImages(owner, this.limits.images)) >= this.limits.images) {
      throw new QuotaExceededError(`the account holds its quota of ${this.limits.images} images; delete some first`);
    }
    if (opts.build && !(await this.takeSlot(owner, imageId))) {
      throw new QuotaExceededError(
        `the account already has ${this.limits.concurrentBuilds} images building, its quota; retry when one is done`,
      );
    }
    // counted again with the slot held: requests that passed the first count while earlier ones finished
    // and freed their slots would otherwise all get in; now the overshoot is at most the slots
    if (opts.build && (await this.countImages(owner, this.limits.images)) >= this.limits.images) {
      await this.releaseSlot(owner, imageId, 'BUILDSLOT');
      throw new QuotaExceededError(`the account holds its quota of ${this.limits.images} images; delete some first`);
    }
  }

  /** Frees the slot a refused request took (conditional on still holding it). */
  private async releaseSlot(owner: string, holder: string, kind: SlotKind): Promise<void> {
    const slots = kind === 'BUILDSLOT' ? this.limits.concurrentBuilds : this.limits.concurrentProvisions;
    for (let n = 0; n < slots; n++) {
      await this.doc
        .send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: slotKey(owner, n, kind),
            ConditionExpression: 'holder = :h',
            ExpressionAttributeValues: { ':h': holder },
          }),
        )
        .catch((err) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        });
    }
  }

  async admitMachine(owner: string, machineId: string): Promise<void> {
    if ((await this.countImages(owner, this.limits.machines, keys.ownerMachines(owner))) >= this.limits.machines) {
      throw new QuotaExceededError(`the account holds its quota of ${this.limits.machines} machines; delete some first`);
    }
    if (!(await this.takeSlot(owner, machineId, 'PROVSLOT'))) {
      throw new QuotaExceededError(
        `the account already has ${this.limits.concurrentProvisions} machines provisioning, its quota; retry when one is done`,
      );
    }
    if ((await this.countImages(owner, this.limits.machines, keys.ownerMachines(owner))) >= this.limits.machines) {
      await this.releaseSlot(owner, machineId, 'PROVSLOT');
      throw new QuotaExceededError(`the account holds its quota of ${this.limits.machines} machines; delete some first`);
    }
  }

  async usage(owner: string): Promise<QuotaUsage & { limits: QuotaLimits }> {
    let building = 0;
    for (let n = 0; n < this.limits.concurrentBuilds; n++) {
      const slot = (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: slotKey(owner, n), ConsistentRead: true })))
        .Item as { holder?: string; acquired_at?: string } | undefined;
      if (slot && (await this.holds(slot))) building++;
    }
    return { images: await this.countImages(owner, Number.POSITIVE_INFINITY), concurrentBuilds: building, limits: this.limits };
  }
}
