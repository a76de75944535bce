/** MachineRepository on the one table: by id, and an account's machines ordered by name. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Machine, MachineState } from '../../core/machine';
import type { MachineRepository, Page, PageRequest } from '../../core/ports';
import { keys } from './table';
import { conditionalUpdate } from './update';
import { getConsistent, putNew } from './items';
import { queryOwnerPartition } from './owner-query';

const strip = (item: Record<string, unknown>): Machine => {
  const { PK, SK, GSI1PK, GSI1SK, entity, ...machine } = item;
  return machine as unknown as Machine;
};

export class DynamoMachineRepository implements MachineRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(machine: Machine): Promise<void> {
    await putNew(
      this.doc,
      this.tableName,
      {
        ...keys.machine(machine.id),
        entity: 'Machine',
        GSI1PK: keys.ownerMachines(machine.owner),
        GSI1SK: `${machine.name}#${machine.id}`,
        ...machine,
      },
      `machine ${machine.id}`,
    );
  }

  async get(id: string): Promise<Machine | undefined> {
    return getConsistent(this.doc, this.tableName, keys.machine(id), strip);
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
