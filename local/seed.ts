/**
 * Demo data, idempotent across restarts: account `demo` with three stopped machines of different
 * os/type and one running machine, each with a small generated disk (zeros, text and random blocks).
 */
import path from 'node:path';
import { mkdirSync, existsSync } from 'node:fs';
import type { Machine } from '../lambdas/core/machine';
import { writeDiskFile, MiB } from '../test/helpers/disk-content';
import { adminOps } from './admin-ops';

export const DEMO_LOGIN = 'demo';

export const DEMO_MACHINES = [
  { name: 'web-01', os: 'linux', type: 'lx-dataset', sizeMiB: 16, seed: 101, state: 'stopped' },
  { name: 'db-01', os: 'linux', type: 'zvol', sizeMiB: 32, seed: 102, state: 'stopped' },
  { name: 'base-zone', os: 'smartos', type: 'zone-dataset', sizeMiB: 8, seed: 103, state: 'stopped' },
  { name: 'app-running', os: 'linux', type: 'lx-dataset', sizeMiB: 8, seed: 104, state: 'running' },
] as const;

export async function seedDemo(dataDir: string): Promise<{ accountId: string; machines: Machine[] }> {
  const account = (await adminOps.getAccount(DEMO_LOGIN)) ?? (await adminOps.createAccount(DEMO_LOGIN));
  const existing = await adminOps.listMachines(account.id);
  const diskDir = path.join(dataDir, 'seed-disks');
  mkdirSync(diskDir, { recursive: true });
  const machines: Machine[] = [];
  for (const spec of DEMO_MACHINES) {
    const found = existing.find((m) => m.name === spec.name);
    if (found) {
      machines.push(found);
      continue;
    }
    const file = path.join(diskDir, `${spec.name}.raw`);
    if (!existsSync(file)) await writeDiskFile(file, spec.sizeMiB * MiB, spec.seed);
    machines.push(
      await adminOps.registerMachine({ login: DEMO_LOGIN, name: spec.name, os: spec.os, type: spec.type, diskFile: file, state: spec.state }),
    );
  }
  return { accountId: account.id, machines };
}
