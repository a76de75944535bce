/**
 * Machine lifecycle for the Triton dialect: ListMachines (filters, offset paging, a total count),
 * CreateMachine (from an active image the caller may see), StopMachine/StartMachine, DeleteMachine.
 * Every state change is a conditional write on the machine's state.
 *
 * CreateMachine is asynchronous, as CloudAPI's: the machine is recorded `provisioning` and the
 * provisioning workflow is started (lib/constructs/provision-workflow.ts); the request answers at
 * once. The workflow expands the image file into the new disk and moves the machine to `running`, or
 * to `failed` with a reason after removing whatever it wrote (provision-steps.ts,
 * docs/decisions/async-provisioning.md).
 */
import type { Principal } from '../account';
import { InvalidParameterError, ServiceError, ServiceUnavailableError, StateConflictError } from '../errors';
import { canSee } from '../image';
import type { Machine, MachineState } from '../machine';
import { findPackage } from '../package';
import type { Clock, DiskProvisioner, IdGenerator, ImageRepository, MachineRepository, ProvisionStarter, QuotaGate } from '../ports';
import { getMachine } from './machines';
import { currentCorrelationId } from '../../observability/correlation';

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
      (m) =>
        m.state !== 'deleted' &&
        (q.name === undefined || m.name === q.name) &&
        (q.state === undefined || m.state === q.state) &&
        (q.image === undefined || m.image === q.image),
    );
    return { items: matching.slice(q.offset, q.offset + q.limit), total: matching.length };
  };

export interface CreateMachineCommand {
  image: string;
  package: string;
  name?: string;
}

export const createMachine =
  (deps: {
    machines: MachineRepository;
    images: ImageRepository;
    workflow: ProvisionStarter;
    clock: Clock;
    ids: IdGenerator;
    quotas?: QuotaGate;
  }) =>
  async (caller: Principal, cmd: CreateMachineCommand): Promise<Machine> => {
    const pkg = findPackage(cmd.package);
    if (!pkg)
      throw new InvalidParameterError(`package ${cmd.package} does not exist`, [
        { field: 'package', code: 'Invalid', message: 'no such package' },
      ]);
    const image = await deps.images.get(cmd.image);
    if (!image || !canSee(image, caller.accountId)) {
      throw new InvalidParameterError(`image ${cmd.image} does not exist`, [
        { field: 'image', code: 'Invalid', message: 'no such image visible to this account' },
      ]);
    }
    const file = image.files[0];
    if (image.state !== 'active' || !file) {
      throw new InvalidParameterError(`image ${image.id} is ${image.state}; machines are created from active images`, [
        { field: 'image', code: 'Invalid', message: 'image is not active' },
      ]);
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
    // machines held and provisionings in flight are bounded per account (docs/decisions/quotas.md)
    await deps.quotas?.admitMachine(caller.accountId, id);
    await deps.machines.create(machine);
    try {
      await deps.workflow.startProvision({
        machineId: id,
        owner: caller.accountId,
        imageId: image.id,
        file,
        disk: { id: diskId, key: machineDiskKey(id, diskId) },
        ...(currentCorrelationId() ? { correlationId: currentCorrelationId() } : {}),
      });
      return machine;
    } catch (err) {
      // Nothing was written to the disks store yet: failing the machine is the whole clean-up.
      const reason = err instanceof Error ? err.message : String(err);
      await deps.machines
        .update(
          id,
          { states: ['provisioning'] },
          {
            state: 'failed',
            error: { code: 'InternalError', message: `could not start provisioning: ${reason}` },
            updated_at: deps.clock.now().toISOString(),
          },
        )
        .catch(() => undefined);
      if (err instanceof ServiceError) throw err;
      throw new ServiceUnavailableError(`machine ${id} could not be provisioned; try again`);
    }
  };

/** Where a machine's disk lives in the disks store: one prefix per machine. */
export const machineDiskKey = (machineId: string, diskId: string): string => `machines/${machineId}/disks/${diskId}.raw`;

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
    await deps.machines.update(
      id,
      { states: ['running', 'stopped', 'failed'] },
      { state: 'deleted', updated_at: deps.clock.now().toISOString() },
    );
    for (const disk of machine.disks) await deps.disks.removeDisk(disk.key);
  };
