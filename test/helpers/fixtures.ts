/** Fixtures made through the real admin operations against the local stack: accounts and machines with generated disks. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import './local-stack';
import { adminOps } from '../../local/admin-ops';
import type { Machine, MachineState } from '../../lambdas/core/machine';
import { writeDiskFile, generateDiskBuffer } from './disk-content';

const dir = mkdtempSync(path.join(tmpdir(), 'mis-fixtures-'));

export const uniqueLogin = (prefix = 'user') => `${prefix}${randomBytes(4).toString('hex')}`;

export async function makeAccount(prefix?: string) {
  return adminOps.createAccount(uniqueLogin(prefix));
}

export interface MachineFixture {
  machine: Machine;
  /** The disk's exact bytes (regenerated from the seed). */
  diskBytes: () => Buffer;
}

export async function makeMachine(login: string, opts: { size?: number; seed?: number; state?: MachineState; os?: string; type?: string } = {}): Promise<MachineFixture> {
  const size = opts.size ?? 3 * 1024 * 1024 + 12345;
  const seed = opts.seed ?? Math.floor(Math.random() * 1e9);
  const file = path.join(dir, `${login}-${seed}.raw`);
  await writeDiskFile(file, size, seed);
  const machine = await adminOps.registerMachine({
    login,
    name: `m-${seed}`,
    os: opts.os ?? 'linux',
    type: opts.type ?? 'lx-dataset',
    diskFile: file,
    state: opts.state ?? 'stopped',
  });
  return { machine, diskBytes: () => generateDiskBuffer(size, seed) };
}
