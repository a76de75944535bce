/** Machine reads: an account sees only its own machines. */
import type { Principal } from '../account';
import { NotFoundError } from '../errors';
import type { Machine } from '../machine';
import type { MachineRepository, Page, PageRequest } from '../ports';

export const getMachine =
  (deps: { machines: MachineRepository }) =>
  async (caller: Principal, id: string, opts: { includeDeleted?: boolean } = {}): Promise<Machine> => {
    const m = await deps.machines.get(id);
    if (!m || m.owner !== caller.accountId || (m.state === 'deleted' && !opts.includeDeleted)) throw new NotFoundError('machine not found');
    return m;
  };

export const listMachines =
  (deps: { machines: MachineRepository }) =>
  (caller: Principal, page: PageRequest): Promise<Page<Machine>> =>
    deps.machines.listByOwner(caller.accountId, page);
