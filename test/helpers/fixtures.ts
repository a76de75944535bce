/** Fixtures made through the real admin operations against the local stack: accounts and machines with generated disks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import './local-stack';
import { adminOps } from '../../local/admin-ops';
import type { Machine, MachineState } from '../../lambdas/core/machine';
import { writeDiskFile, generateDiskBuffer } from './disk-content';
import { issueToken } from '../../lambdas/core/use-cases/credentials';
import type { Image } from '../../lambdas/core/image';
import { accountRepository, credentialRepository, imageRepository } from '../../lambdas/wiring';
import { generateTestKeyPair, rememberPassword, type TestKeyPair } from './credentials';

const dir = mkdtempSync(path.join(tmpdir(), 'mis-fixtures-'));
// The disks are uploaded as machines are registered (below); the folder goes with the test file.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

export const uniqueLogin = (prefix = 'user') => `${prefix}${randomBytes(4).toString('hex')}`;

/**
 * A new account with a random password, registered so that `api()` authenticates as it whenever a
 * path names its login (or `init.as` does). Returns the account plus its `password`.
 */
export async function makeAccount(prefix?: string) {
  const account = await adminOps.createAccount(uniqueLogin(prefix));
  const password = randomBytes(18).toString('base64url');
  await adminOps.setPassword(account.login, password);
  rememberPassword(account.login, password);
  return { ...account, password };
}

/** Registers a freshly generated SSH key for `login` (for HTTP Signature requests; see signatureHeaders). */
export async function makeKey(login: string, type: 'rsa' | 'ed25519' | 'ecdsa' = 'ed25519'): Promise<TestKeyPair> {
  const pair = generateTestKeyPair(type);
  await adminOps.addKey(login, pair.publicKey);
  return pair;
}

/** An API token for `login` (X-Auth-Token), through the real admin operation. */
export async function makeToken(login: string, ttlSeconds = 3600): Promise<string> {
  return (await adminOps.createToken(login, { ttlSeconds })).token;
}

/** A token that expired a minute ago: issued by the real use case with a clock set in the past. */
export async function makeExpiredToken(login: string): Promise<string> {
  const past = { now: () => new Date(Date.now() - 3600_000 - 60_000) };
  const { token } = await issueToken({ accounts: accountRepository(), credentials: credentialRepository(), clock: past })(login, {
    ttlSeconds: 3600,
  });
  return token;
}

/** An AK/SK pair for `login` (`project_id` is the account id). */
export const makeAksk = (login: string) => adminOps.createAksk(login);

export interface MachineFixture {
  machine: Machine;
  /** The disk's exact bytes (regenerated from the seed). */
  diskBytes: () => Buffer;
}

export async function makeMachine(
  login: string,
  opts: { size?: number; seed?: number; state?: MachineState; os?: string; type?: string } = {},
): Promise<MachineFixture> {
  const size = opts.size ?? 3 * 1024 * 1024 + 12345;
  const seed = opts.seed ?? Math.floor(Math.random() * 1e9);
  const file = path.join(dir, `${login}-${seed}.raw`);
  await writeDiskFile(file, size, seed);
  try {
    const machine = await adminOps.registerMachine({
      login,
      name: `m-${seed}`,
      os: opts.os ?? 'linux',
      type: opts.type ?? 'lx-dataset',
      diskFile: file,
      state: opts.state ?? 'stopped',
    });
    return { machine, diskBytes: () => generateDiskBuffer(size, seed) };
  } finally {
    // uploaded to the disks bucket (or refused): the local copy is not needed any more
    rmSync(file, { force: true });
  }
}

/** Writes `count` active images (`held-0`, `held-1`, …) of an account straight into the table: an account at or near its image quota. */
export async function seedActiveImages(ownerId: string, count: number): Promise<void> {
  const now = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const image: Image = {
      id: randomUUID(),
      owner: ownerId,
      name: `held-${i}`,
      version: '1.0.0',
      acl: [],
      tags: {},
      requirements: {},
      os: 'linux',
      type: 'lx-dataset',
      state: 'active',
      public: false,
      created_at: now,
      updated_at: now,
      files: [],
      rev: 1,
    };
    await imageRepository().create(image);
  }
}
