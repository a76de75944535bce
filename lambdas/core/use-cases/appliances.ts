/**
 * UForge appliances (lambdas/core/appliance.ts): created on a machine the caller owns, listed, read,
 * updated (a conditional write on `rev`) and deleted (a `deleted` tombstone; its generated machine
 * images are deleted with it). Another account's appliance answers exactly like an absent one (404).
 */
import type { Principal } from '../account';
import type { Appliance, ApplianceRepository, InstallProfile, OsProfile } from '../appliance';
import { InvalidParameterError, NotFoundError } from '../errors';
import type { Clock, IdGenerator, MachineRepository } from '../ports';

export interface ApplianceCommand {
  name: string;
  version: string;
  description?: string;
  machine_id: string;
  os_profile?: OsProfile;
  install_profile?: InstallProfile;
}

export interface ApplianceDeps {
  appliances: ApplianceRepository;
  machines: MachineRepository;
  clock: Clock;
  ids: IdGenerator;
}

async function assertMachineUsable(machines: MachineRepository, caller: Principal, machineId: string): Promise<void> {
  const machine = await machines.get(machineId);
  if (!machine || machine.owner !== caller.accountId || machine.state === 'deleted') {
    throw new InvalidParameterError(`machine ${machineId} does not exist or is not yours`, [
      { field: 'machineId', code: 'Invalid', message: 'no such machine for this account' },
    ]);
  }
}

export const createAppliance =
  (deps: ApplianceDeps) =>
  async (caller: Principal, cmd: ApplianceCommand): Promise<Appliance> => {
    await assertMachineUsable(deps.machines, caller, cmd.machine_id);
    const now = deps.clock.now().toISOString();
    const appliance: Appliance = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      name: cmd.name,
      version: cmd.version,
      ...(cmd.description !== undefined && { description: cmd.description }),
      machine_id: cmd.machine_id,
      ...(cmd.os_profile && { os_profile: cmd.os_profile }),
      install_profile: cmd.install_profile ?? {},
      state: 'active',
      created_at: now,
      updated_at: now,
      rev: 1,
    };
    await deps.appliances.create(appliance);
    return appliance;
  };

/** The caller's live appliance, or 404. */
export const getAppliance =
  (deps: Pick<ApplianceDeps, 'appliances'>) =>
  async (caller: Principal, id: string): Promise<Appliance> => {
    const appliance = await deps.appliances.get(id);
    if (!appliance || appliance.owner !== caller.accountId || appliance.state !== 'active')
      throw new NotFoundError(`appliance ${id} not found`);
    return appliance;
  };

/** Every live appliance of the caller, oldest first (the owner partition, read page by page). */
export const listAppliances =
  (deps: Pick<ApplianceDeps, 'appliances'>) =>
  async (caller: Principal): Promise<Appliance[]> => {
    const out: Appliance[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.appliances.listByOwner(caller.accountId, { limit: 500, cursor });
      out.push(...page.items.filter((a) => a.state === 'active'));
      cursor = page.cursor;
    } while (cursor);
    return out;
  };

/** Changes the fields given; the machine, if changed, must be the caller's. */
export const updateAppliance =
  (deps: ApplianceDeps) =>
  async (caller: Principal, id: string, changes: Partial<ApplianceCommand>): Promise<Appliance> => {
    const current = await getAppliance(deps)(caller, id);
    if (changes.machine_id !== undefined && changes.machine_id !== current.machine_id)
      await assertMachineUsable(deps.machines, caller, changes.machine_id);
    const set: Partial<Appliance> = {
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.version !== undefined && { version: changes.version }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.machine_id !== undefined && { machine_id: changes.machine_id }),
      ...(changes.os_profile !== undefined && { os_profile: changes.os_profile }),
      ...(changes.install_profile !== undefined && { install_profile: { ...current.install_profile, ...changes.install_profile } }),
      updated_at: deps.clock.now().toISOString(),
    };
    return deps.appliances.update(id, { states: ['active'], rev: current.rev }, set);
  };

/** active → deleted (conditional on rev); the caller deletes the appliance's machine images first. */
export const markApplianceDeleted =
  (deps: Pick<ApplianceDeps, 'appliances' | 'clock'>) =>
  async (caller: Principal, id: string): Promise<void> => {
    const current = await getAppliance(deps)(caller, id);
    await deps.appliances.update(
      id,
      { states: ['active'], rev: current.rev },
      { state: 'deleted', updated_at: deps.clock.now().toISOString() },
    );
  };
