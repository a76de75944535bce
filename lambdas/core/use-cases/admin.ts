/**
 * Operator use cases behind `npm run admin`: create an account, register a machine (its disk is
 * uploaded to the disks bucket first, then the machine item is written, so a machine never points at
 * a missing disk).
 */
import type { Account } from '../account';
import { LOGIN_RE } from '../account';
import { InvalidParameterError, NotFoundError, ValidationError } from '../errors';
import type { Machine, MachineState } from '../machine';
import type { AccountRepository, Clock, IdGenerator, MachineRepository } from '../ports';

export interface DiskUploader {
  /** Stores the raw disk; returns its size in bytes. */
  putDisk(key: string, file: string): Promise<number>;
}

/** A machine registered with no known origin image carries this placeholder (the CLI needs one). */
export const PLACEHOLDER_IMAGE_ID = '00000000-0000-0000-0000-000000000000';

export const createAccount =
  (deps: { accounts: AccountRepository; clock: Clock; ids: IdGenerator }) =>
  async (login: string, opts: { id?: string; email?: string } = {}): Promise<Account> => {
    if (!LOGIN_RE.test(login)) {
      throw new ValidationError(`login ${JSON.stringify(login)} is invalid`, [
        { field: 'login', code: 'Invalid', message: '3–32 characters: a letter, then letters, digits, "_", ".", "@" or "-"' },
      ]);
    }
    const account: Account = {
      id: opts.id ?? deps.ids.uuid(),
      login,
      ...(opts.email && { email: opts.email }),
      created_at: deps.clock.now().toISOString(),
    };
    await deps.accounts.create(account);
    return account;
  };

export interface RegisterMachineCommand {
  login: string;
  name: string;
  os: string;
  type: string;
  diskFile: string;
  state?: MachineState;
  image?: string;
  id?: string;
}

export const registerMachine =
  (deps: { accounts: AccountRepository; machines: MachineRepository; disks: DiskUploader; clock: Clock; ids: IdGenerator }) =>
  async (cmd: RegisterMachineCommand): Promise<Machine> => {
    const account = await deps.accounts.getByLogin(cmd.login);
    if (!account) throw new NotFoundError(`account ${cmd.login} not found`);
    const state = cmd.state ?? 'stopped';
    if (state !== 'stopped' && state !== 'running') throw new InvalidParameterError(`state must be stopped or running, not ${state}`);
    const id = cmd.id ?? deps.ids.uuid();
    const diskId = deps.ids.uuid();
    const key = `machines/${id}/disks/${diskId}.raw`;
    const size = await deps.disks.putDisk(key, cmd.diskFile);
    const now = deps.clock.now().toISOString();
    const machine: Machine = {
      id,
      owner: account.id,
      name: cmd.name,
      state,
      os: cmd.os,
      type: cmd.type,
      image: cmd.image ?? PLACEHOLDER_IMAGE_ID,
      disks: [{ id: diskId, boot: true, size, key }],
      created_at: now,
      updated_at: now,
      rev: 1,
    };
    await deps.machines.create(machine);
    return machine;
  };

/**
 * Disables an account, or enables it again: one conditional write on the account item, which the
 * authorizer reads on every request (no cache), so every credential — keys, password, tokens,
 * AK/SK pairs — is refused from the next request on, and works again once enabled. Nothing is deleted.
 */
export const setAccountDisabled =
  (deps: { accounts: AccountRepository; clock: Clock }) =>
  async (login: string, disabled: boolean): Promise<Account> => {
    const account = await deps.accounts.getByLogin(login);
    if (!account) throw new NotFoundError(`account ${login} not found`);
    if (!!account.disabled_at === disabled) return account; // already so: keep the first disable time
    return deps.accounts.setDisabled(account.id, disabled ? deps.clock.now().toISOString() : undefined);
  };
