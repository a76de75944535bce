/**
 * Machine lifecycle for the Triton dialect: ListMachines (filters, offset paging, a total count),
 * CreateMachine (from an active image the caller may see: the image file is expanded into a new disk
 * object, then the machine is `running`), StopMachine/StartMachine, DeleteMachine. Every state change
 * is a conditional write on the machine's state. Provisioning is synchronous (the expansion streams,
 * in bounded memory); a machine whose disk could not be written ends `failed` with nothing left.
 */
import type { Principal } from '../account';
import { InvalidParameterError, ServiceError, ServiceUnavailableError, StateConflictError } from '../errors';
import { canSee } from '../image';
import type { Machine, MachineState } from '../machine';
import { findPackage } from '../package';
import type { Clock, DiskProvisioner, IdGenerator, ImageRepository, MachineRepository } from '../ports';
import { getMachine } from './machines';

export interface ListMachinesQuery {
  name?: string;
  state?: MachineState;
  image?: string;
  limit: number;
  offset: number;
}

/** The account's live machines matching the filters, a page of them, and how many match in all. */
export const listMachinesPage =
  (deps: { machines: MachineRepository }) =>
  async (caller: Principal, q: ListMachinesQuery): Promise<{ items: Machine[]; total: number }> => {
    const all: Machine[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.machines.listByOwner(caller.accountId, { limit: 1000, cursor });
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    const matching = all.filter(
      (m) => m.state !== 'deleted' && (q.name === undefined || m.name === q.name) && (q.state === undefined || m.state === q.state) && (q.image === undefined || m.image === q.image),
    );
    return { items: matching.slice(q.offset, q.offset + q.limit), total: matching.length };
  };

export interface CreateMachineCommand {
  image: string;
  package: string;
  name?: string;
}

export const createMachine =
  (deps: { machines: MachineRepository; images: ImageRepository; disks: DiskProvisioner; clock: Clock; ids: IdGenerator }) =>
  async (caller: Principal, cmd: CreateMachineCommand): Promise<Machine> => {
    const pkg = findPackage(cmd.package);
    if (!pkg) throw new InvalidParameterError(`package ${cmd.package} does not exist`, [{ field: 'package', code: 'Invalid', message: 'no such package' }]);
    const image = await deps.images.get(cmd.image);
    if (!image || !canSee(image, caller.accountId)) {
      throw new InvalidParameterError(`image ${cmd.image} does not exist`, [{ field: 'image', code: 'Invalid', message: 'no such image visible to this account' }]);
    }
    const file = image.files[0];
    if (image.state !== 'active' || !file) {
      throw new InvalidParameterError(`image ${image.id} is ${image.state}; machines are created from active images`, [{ field: 'image', code: 'Invalid', message: 'image is not active' }]);
    }
    const now = deps.clock.now().toISOString();
    const id = deps.ids.uuid();
    const diskId = deps.ids.uuid();
    const machine: Machine = {
      id,
      owner: caller.accountId,
      name: cmd.name ?? `${image.name}-${id.slice(0, 8)}`,
      state: 'provisioning',
      os: image.os,
      type: image.type,
      image: image.id,
      disks: [],
      package: pkg.id,
      created_at: now,
      updated_at: now,
      rev: 1,
    };
    await deps.machines.create(machine);
    const key = `machines/${id}/disks/${diskId}.raw`;
    try {
      const size = await deps.disks.expandImage(file, key);
      return await deps.machines.update(id, { states: ['provisioning'] }, { state: 'running', disks: [{ id: diskId, boot: true, size, key }], updated_at: deps.clock.now().toISOString() });
    } catch (err) {
      await deps.machines.update(id, { states: ['provisioning'] }, { state: 'failed', updated_at: deps.clock.now().toISOString() }).catch(() => undefined);
      await deps.disks.removeDisk(key).catch(() => undefined);
      if (err instanceof ServiceError) throw err;
      throw new ServiceUnavailableError(`the disk of machine ${id} could not be written; try again`);
    }
  };

export type MachineAction = 'stop' | 'start';
const ACTION_TARGET: Record<MachineAction, { from: MachineState; to: MachineState }> = {
  stop: { from: 'running', to: 'stopped' },
  start: { from: 'stopped', to: 'running' },
};

/** Stop or start; asking for the state the machine is already in is a no-op (as CloudAPI). */
export const changeMachineState =
  (deps: { machines: MachineRepository; clock: Clock }) =>
  async (caller: Principal, id: string, action: MachineAction): Promise<Machine> => {
    const machine = await getMachine(deps)(caller, id);
    const { from, to } = ACTION_TARGET[action];
    if (machine.state === to) return machine;
    if (machine.state !== from) throw new StateConflictError(`machine ${id} is ${machine.state} and cannot ${action}`, machine.state);
    return deps.machines.update(id, { states: [from] }, { state: to, updated_at: deps.clock.now().toISOString() });
  };

/** The machine becomes a `deleted` tombstone, then its disk objects are removed. */
export const deleteMachine =
  (deps: { machines: MachineRepository; disks: DiskProvisioner; clock: Clock }) =>
  async (caller: Principal, id: string): Promise<void> => {
    const machine = await getMachine(deps)(caller, id);
    if (machine.state === 'provisioning') throw new StateConflictError(`machine ${id} is still provisioning`, machine.state);
    await deps.machines.update(id, { states: ['running', 'stopped', 'failed'] }, { state: 'deleted', updated_at: deps.clock.now().toISOString() });
    for (const disk of machine.disks) await deps.disks.removeDisk(disk.key);
  };

