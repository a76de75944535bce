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
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'demo@machine-image-service', '-f', privateKeyFile], { stdio: 'ignore' });
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

export async function seedDemo(dataDir: string): Promise<{ accountId: string; machines: Machine[]; password: string; key: DemoKey }> {
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
      await adminOps.registerMachine({ login: DEMO_LOGIN, name: spec.name, os: spec.os, type: spec.type, diskFile: file, state: spec.state }),
    );
  }
  return { accountId: account.id, machines, password: DEMO_PASSWORD, key };
}
