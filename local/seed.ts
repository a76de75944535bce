/**
 * Demo data, idempotent across restarts: account `demo` (password DEMO_PASSWORD, and an ed25519 SSH key
 * generated under `<dataDir>/demo-key/` for the triton CLI) with three stopped machines of different
 * os/type and one running machine, each with a small generated disk (zeros, text and random blocks).
 */
import path from 'node:path';
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';
import type { Machine } from '../lambdas/core/machine';
import type { Appliance } from '../lambdas/core/appliance';
import { createAppliance, listAppliances } from '../lambdas/core/use-cases/appliances';
import { applianceRepository, clock, ids, machineRepository } from '../lambdas/wiring';
import { writeDiskFile, MiB } from '../test/helpers/disk-content';
import { adminOps } from './admin-ops';

export const DEMO_LOGIN = 'demo';
/** The demo account's password (local stacks only; documented in the README). */
export const DEMO_PASSWORD = 'demo-password';

export interface DemoKey {
  privateKeyFile: string;
  publicKeyFile: string;
  fingerprint: string;
}

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** An ed25519 key pair for the demo account under `<dataDir>/demo-key/` (made once, kept across restarts). */
export function ensureDemoKeyPair(dataDir: string): { privateKeyFile: string; publicKeyFile: string } {
  const dir = path.join(dataDir, 'demo-key');
  const privateKeyFile = path.join(dir, 'id_ed25519');
  const publicKeyFile = `${privateKeyFile}.pub`;
  if (existsSync(privateKeyFile) && existsSync(publicKeyFile)) return { privateKeyFile, publicKeyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (hasSshKeygen()) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'demo@machine-image-service', '-f', privateKeyFile], {
      stdio: 'ignore',
    });
  } else {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = sshpk.parsePrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'pem');
    key.comment = 'demo@machine-image-service';
    writeFileSync(privateKeyFile, key.toString('ssh-private'), { mode: 0o600 });
    writeFileSync(publicKeyFile, `${key.toPublic().toString('ssh')}\n`);
  }
  return { privateKeyFile, publicKeyFile };
}

export const DEMO_MACHINES = [
  { name: 'web-01', os: 'linux', type: 'lx-dataset', sizeMiB: 16, seed: 101, state: 'stopped' },
  { name: 'db-01', os: 'linux', type: 'zvol', sizeMiB: 32, seed: 102, state: 'stopped' },
  { name: 'base-zone', os: 'smartos', type: 'zone-dataset', sizeMiB: 8, seed: 103, state: 'stopped' },
  { name: 'app-running', os: 'linux', type: 'lx-dataset', sizeMiB: 8, seed: 104, state: 'running' },
] as const;

/**
 * UForge appliances of the demo account, each on one of its stopped machines: two with an OS profile
 * (machine images can be generated from them) and one without (generating is refused, as documented).
 */
export const DEMO_APPLIANCES = [
  {
    name: 'web-appliance',
    version: '1.0',
    machine: 'web-01',
    os_profile: { name: 'CentOS', version: '7', arch: 'x86_64' },
    install_profile: { memory_size: 1024 },
  },
  {
    name: 'db-appliance',
    version: '1.0',
    machine: 'db-01',
    os_profile: { name: 'Ubuntu', version: '22.04', arch: 'x86_64' },
    install_profile: { memory_size: 2048 },
  },
  { name: 'bare-appliance', version: '0.1', machine: 'base-zone', install_profile: {} },
] as const;

async function seedAppliances(accountId: string, machines: Machine[]): Promise<Appliance[]> {
  const caller = { accountId, login: DEMO_LOGIN, roles: [] };
  const deps = { appliances: applianceRepository(), machines: machineRepository(), clock, ids };
  const existing = await listAppliances(deps)(caller);
  const out: Appliance[] = [];
  for (const spec of DEMO_APPLIANCES) {
    const found = existing.find((a) => a.name === spec.name);
    const machine = machines.find((m) => m.name === spec.machine);
    if (found || !machine) {
      if (found) out.push(found);
      continue;
    }
    out.push(
      await createAppliance(deps)(caller, {
        name: spec.name,
        version: spec.version,
        machine_id: machine.id,
        ...('os_profile' in spec && { os_profile: { ...spec.os_profile } }),
        install_profile: { ...spec.install_profile, disk_size: machine.disks[0]?.size ?? 0 },
      }),
    );
  }
  return out;
}

export async function seedDemo(
  dataDir: string,
): Promise<{ accountId: string; machines: Machine[]; appliances: Appliance[]; password: string; key: DemoKey }> {
  const account = (await adminOps.getAccount(DEMO_LOGIN)) ?? (await adminOps.createAccount(DEMO_LOGIN));
  await adminOps.setPassword(DEMO_LOGIN, DEMO_PASSWORD);
  const files = ensureDemoKeyPair(dataDir);
  const registered = await adminOps.addKey(DEMO_LOGIN, readFileSync(files.publicKeyFile, 'utf8'), { name: 'demo' });
  const key: DemoKey = { ...files, fingerprint: registered.fingerprint };
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
      await adminOps.registerMachine({
        login: DEMO_LOGIN,
        name: spec.name,
        os: spec.os,
        type: spec.type,
        diskFile: file,
        state: spec.state,
      }),
    );
  }
  const appliances = await seedAppliances(account.id, machines);
  return { accountId: account.id, machines, appliances, password: DEMO_PASSWORD, key };
}
