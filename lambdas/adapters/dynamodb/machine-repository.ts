/** MachineRepository on the one table: by id, and an account's machines ordered by name. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../../core/errors';
import type { Machine, MachineState } from '../../core/machine';
import type { MachineRepository, Page, PageRequest } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';
import { queryOwnerPartition } from './owner-query';

const strip = (item: Record<string, unknown>): Machine => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...machine } = item;
  void PK, SK, GSI1PK, GSI1SK, entity;
  return machine as unknown as Machine;
};

export class DynamoMachineRepository implements MachineRepository {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(machine: Machine): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.machine(machine.id), entity: 'Machine', GSI1PK: keys.ownerMachines(machine.owner), GSI1SK: `${machine.name}#${machine.id}`, ...machine },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new StateConflictError(`machine ${machine.id} already exists`);
      throw err;
    }
  }

  async get(id: string): Promise<Machine | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.machine(id), ConsistentRead: true }));
    return out.Item ? strip(out.Item) : undefined;
  }

  async update(id: string, expect: { states: MachineState[] }, changes: Partial<Machine>): Promise<Machine> {
    const item = await conditionalUpdate(this.doc, this.tableName, 'machine', {
      key: keys.machine(id),
      expect: { stateAttribute: 'state', states: expect.states },
      set: { ...changes, updated_at: changes.updated_at ?? new Date().toISOString() },
    });
    return strip(item);
  }

  async listByOwner(owner: string, page: PageRequest): Promise<Page<Machine>> {
    return queryOwnerPartition(this.doc, this.tableName, keys.ownerMachines(owner), page, strip);
  }
}
