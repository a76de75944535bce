/**
 * The credential lifecycle over real HTTP and the local DynamoDB (docs/decisions/credential-lifecycle.md):
 * every admin command (run through the same command table `npm run admin` runs, in process, and a few
 * through the real `npm run admin` process), listings without secrets, revocations refused at once, an
 * account disabled and enabled across the four schemes, and a password hash made at N=2^14 upgraded to
 * N=2^17 at the next right login.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { api, BASE } from '../../helpers/local-stack';
import { makeAccount, uniqueLogin } from '../../helpers/fixtures';
import {
  basicAuthorization,
  generateTestKeyPair,
  huaweiSignedHeaders,
  signatureHeaders,
  type TestKeyPair,
} from '../../helpers/credentials';
import { COMMANDS, runAdmin } from '../../../local/admin-cli';
import { keys, TTL_ATTRIBUTE } from '../../../lambdas/adapters/dynamodb/table';
import { config, credentialRepository, documentClient } from '../../../lambdas/wiring';
import { DEFAULT_SCRYPT, hashPassword, sha256Hex } from '../../../lambdas/core/use-cases/credentials';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Runs one admin command in process, through local/admin-cli.ts; returns the exit code and the parsed JSON. */
async function admin(args: string[], stdin = ''): Promise<{ code: number; out: any; err: string }> {
  let out = '';
  let err = '';
  const code = await runAdmin([...args], {
    connect: async () => BASE,
    readStdin: async () => stdin,
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  let parsed: unknown = out;
  try {
    parsed = JSON.parse(out);
  } catch {
    // help text
  }
  return { code, out: parsed, err };
}

/** The real `npm run admin` process against the test stack. */
function adminProcess(args: string[]) {
  const res = spawnSync(
    process.execPath,
    ['--openssl-legacy-provider', 'scripts/run-ts.mjs', 'local/main.ts', 'admin', ...args, '--state-file', process.env.LOCAL_STACK_FILE!],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TABLE_NAME: '', IMAGES_BUCKET: '', DISKS_BUCKET: '' },
      timeout: 60_000,
    },
  );
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const item = async (key: Record<string, string>) =>
  (await documentClient().send(new GetCommand({ TableName: config.tableName(), Key: key, ConsistentRead: true }))).Item;

type Who = { login: string; password: string; key: TestKeyPair; token: string; aksk: { ak: string; sk: string; project_id: string } };

/** One request per scheme, each as `who`, to the account route; the statuses by scheme. */
async function statusBySchemes(who: Who): Promise<Record<string, number>> {
  const p = `/${who.login}`;
  const requests: Record<string, Record<string, string>> = {
    signature: signatureHeaders({ method: 'GET', pathAndQuery: p, login: who.login, key: who.key }),
    basic: { authorization: basicAuthorization(who) },
    token: { 'x-auth-token': who.token },
    aksk: huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path: p, aksk: who.aksk }),
  };
  const out: Record<string, number> = {};
  for (const [scheme, headers] of Object.entries(requests)) out[scheme] = (await api('GET', p, undefined, { as: null, headers })).status;
  return out;
}

describe('admin commands', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mis-admin-'));

  it('creates an account with a password from stdin, changes it, and both work over HTTP Basic (the old one no longer)', async () => {
    const login = uniqueLogin('adm');
    const first = randomBytes(12).toString('base64url');
    const created = await admin(['account', 'create', login, '--email', `${login}@example.com`, '--password-stdin'], first);
    expect(created).toMatchObject({ code: 0, out: { login, email: `${login}@example.com`, password: true } });
    expect(JSON.stringify(created.out)).not.toContain(first);
    expect((await api('GET', `/${login}`, undefined, { as: { login, password: first } })).status).toBe(200);

    const second = randomBytes(12).toString('base64url');
    expect(await admin(['account', 'set-password', login, '--password-stdin'], second)).toMatchObject({ code: 0, out: { login } });
    expect((await api('GET', `/${login}`, undefined, { as: { login, password: second } })).status).toBe(200);
    expect((await api('GET', `/${login}`, undefined, { as: { login, password: first } })).status).toBe(401);
  }, 120_000);

  it('key add | list | delete: the list shows fingerprints only; a deleted key is refused at once', async () => {
    const alice = await makeAccount('keys');
    const pair = generateTestKeyPair('ed25519');
    const file = path.join(dir, `${alice.login}.pub`);
    writeFileSync(file, `${pair.publicKey} laptop\n`);
    const added = await admin(['key', 'add', alice.login, file, '--name', 'laptop']);
    expect(added).toMatchObject({
      code: 0,
      out: {
        fingerprint: pair.fingerprint,
        type: 'ed25519',
        name: 'laptop',
        env: expect.arrayContaining([`TRITON_KEY_ID=${pair.fingerprint}`]),
      },
    });

    const listed = await admin(['key', 'list', alice.login]);
    expect(listed.out).toEqual([
      {
        fingerprint: pair.fingerprint,
        sha256_fingerprint: added.out.sha256_fingerprint,
        type: 'ed25519',
        name: 'laptop',
        created_at: expect.any(String),
      },
    ]);
    expect(JSON.stringify(listed.out)).not.toContain(pair.publicKey.split(' ')[1]);

    const signed = () =>
      api('GET', `/${alice.login}`, undefined, {
        as: null,
        headers: signatureHeaders({ method: 'GET', pathAndQuery: `/${alice.login}`, login: alice.login, key: pair }),
      });
    expect((await signed()).status).toBe(200);
    expect(await admin(['key', 'delete', alice.login, pair.fingerprint])).toMatchObject({
      code: 0,
      out: { fingerprint: pair.fingerprint, deleted: true },
    });
    expect((await signed()).status).toBe(401);
    expect((await admin(['key', 'list', alice.login])).out).toEqual([]);
    await expect(admin(['key', 'delete', alice.login, pair.fingerprint])).rejects.toMatchObject({
      message: expect.stringMatching(/not found/),
    });
  }, 120_000);

  it('token create | list | revoke: the list shows ids and times, never the token; a revoked token is refused at once, the other still works', async () => {
    const alice = await makeAccount('toks');
    const one = (await admin(['token', 'create', alice.login, '--ttl', '30m'])).out;
    const two = (await admin(['token', 'create', alice.login])).out;
    expect(one).toMatchObject({ token: expect.any(String), expires_at: expect.any(String) });
    // the table's TTL attribute, a day after expiry (lambdas/auth/token.ts refuses it at expiry regardless)
    expect((await item(keys.token(sha256Hex(one.token))))?.[TTL_ATTRIBUTE]).toBe(Math.floor(Date.parse(one.expires_at) / 1000) + 86_400);

    const listed = (await admin(['token', 'list', alice.login])).out as { id: string; expires_at: string; expired: boolean }[];
    expect(listed.map((t) => t.id).sort()).toEqual([sha256Hex(one.token).slice(0, 16), sha256Hex(two.token).slice(0, 16)].sort());
    for (const t of listed)
      expect(t).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{16}$/),
        created_at: expect.any(String),
        expires_at: expect.any(String),
        expired: false,
      });
    const text = JSON.stringify(listed);
    for (const secret of [one.token, two.token, sha256Hex(one.token)]) expect(text).not.toContain(secret);

    const byToken = (token: string) => api('GET', `/${alice.login}`, undefined, { as: null, headers: { 'x-auth-token': token } });
    expect((await byToken(one.token)).status).toBe(200);
    expect(await admin(['token', 'revoke', alice.login, sha256Hex(one.token).slice(0, 16)])).toMatchObject({
      code: 0,
      out: { revoked: true },
    });
    expect((await byToken(one.token)).status).toBe(401);
    expect((await byToken(two.token)).status).toBe(200);
    expect((await admin(['token', 'list', alice.login])).out).toHaveLength(1);
  }, 120_000);

  it('aksk create | list | delete: the list shows access keys, never the SK; a deleted pair is refused at once', async () => {
    const alice = await makeAccount('aksk');
    const pair = (await admin(['aksk', 'create', alice.login])).out;
    expect(pair).toMatchObject({ ak: expect.any(String), sk: expect.any(String), project_id: alice.id });
    const listed = (await admin(['aksk', 'list', alice.login])).out;
    expect(listed).toEqual([{ ak: pair.ak, created_at: expect.any(String) }]);
    expect(JSON.stringify(listed)).not.toContain(pair.sk);

    const p = `/${alice.login}`;
    const signed = () =>
      api('GET', p, undefined, { as: null, headers: huaweiSignedHeaders({ baseUrl: BASE, method: 'GET', path: p, aksk: pair }) });
    expect((await signed()).status).toBe(200);
    expect(await admin(['aksk', 'delete', alice.login, pair.ak])).toMatchObject({ code: 0, out: { ak: pair.ak, deleted: true } });
    expect((await signed()).status).toBe(401);
    expect((await admin(['aksk', 'list', alice.login])).out).toEqual([]);
  }, 120_000);

  it('bucket put and machine register', async () => {
    const alice = await makeAccount('admput');
    const file = path.join(dir, 'disk.raw');
    writeFileSync(file, randomBytes(64 * 1024));
    expect(await admin(['bucket', 'put', alice.login, 'my-bucket:in/disk.raw', file])).toMatchObject({
      code: 0,
      out: { bucket: 'my-bucket', key: 'in/disk.raw', size: 64 * 1024 },
    });
    const machine = await admin([
      'machine',
      'register',
      alice.login,
      '--name',
      'web',
      '--os',
      'linux',
      '--type',
      'lx-dataset',
      '--disk',
      file,
    ]);
    expect(machine).toMatchObject({ code: 0, out: { name: 'web', state: 'stopped', disks: [{ size: 64 * 1024 }] } });
    expect((await api('GET', `/${alice.login}/machines/${machine.out.id}`)).body).toMatchObject({ id: machine.out.id, name: 'web' });
  }, 120_000);

  it('answers --help for every command and for all, and an unknown command with the help and a non-zero code', async () => {
    const all = await admin(['--help']);
    expect(all.code).toBe(0);
    for (const c of COMMANDS) {
      expect(all.out).toContain(c.name);
      const one = await admin([...c.name.split(' '), '--help']);
      expect(one).toMatchObject({ code: 0, out: `usage: npm run admin -- ${c.name} ${c.args}\n  ${c.description}` });
    }
    for (const name of [
      'key list',
      'key delete',
      'token list',
      'token revoke',
      'aksk list',
      'aksk delete',
      'account disable',
      'account enable',
    ])
      expect(all.out).toContain(name);
    const unknown = await admin(['key', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command `key frobnicate`/);
    expect(unknown.err).toContain('commands:');
  }, 120_000);

  it('`npm run admin` itself: --help lists every command (exit 0); an unknown command fails; a command prints JSON', async () => {
    const help = adminProcess(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(c.name);
    const unknown = adminProcess(['frob']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('commands:');
    const alice = await makeAccount('admproc');
    const listed = adminProcess(['aksk', 'list', alice.login]);
    expect([listed.code, JSON.parse(listed.stdout)]).toEqual([0, []]);
  }, 180_000);
});

describe('account disable / enable', () => {
  it('refuses every credential of a disabled account at once — Signature, Basic, token, AK/SK — and accepts them all again once enabled', async () => {
    const account = await makeAccount('disable');
    const key = generateTestKeyPair('ed25519');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mis-disable-')), 'id.pub');
    writeFileSync(file, key.publicKey);
    await admin(['key', 'add', account.login, file]);
    const who: Who = {
      login: account.login,
      password: account.password,
      key,
      token: (await admin(['token', 'create', account.login])).out.token,
      aksk: (await admin(['aksk', 'create', account.login])).out,
    };
    const bystander = await makeAccount('bystander');
    const all = (status: number) => ({ signature: status, basic: status, token: status, aksk: status });

    expect(await statusBySchemes(who)).toEqual(all(200));
    const disabled = await admin(['account', 'disable', who.login]);
    expect(disabled).toMatchObject({ code: 0, out: { login: who.login, disabled_at: expect.any(String) } });
    expect(await statusBySchemes(who)).toEqual(all(401));
    expect((await api('GET', `/${bystander.login}`)).status).toBe(200);

    const enabled = await admin(['account', 'enable', who.login]);
    expect(enabled.code).toBe(0);
    expect(enabled.out.disabled_at).toBeUndefined();
    expect(await statusBySchemes(who)).toEqual(all(200));
  }, 120_000);
});

describe('password hash upgrade', () => {
  it('rehashes an N=2^14 hash at N=2^17 at the next right login (conditionally), keeps tokens valid, and logs in again', async () => {
    const account = await makeAccount('upgrade');
    const password = randomBytes(12).toString('base64url');
    const OLD = { N: 2 ** 14, r: 8, p: 1, keylen: 32 };
    const updated_at = new Date(Date.now() - 60_000).toISOString();
    // an account as the previous version stored it
    await credentialRepository().putPassword({ accountId: account.id, ...(await hashPassword(password, OLD)), updated_at });
    const token = (await admin(['token', 'create', account.login])).out.token;
    const before = await item(keys.password(account.id));
    expect(before?.params).toEqual(OLD);

    const basic = { as: { login: account.login, password } };
    expect((await api('GET', `/${account.login}`, undefined, basic)).status).toBe(200);
    const after = await item(keys.password(account.id));
    expect(after?.params).toEqual(DEFAULT_SCRYPT);
    expect(after?.params.N).toBe(2 ** 17);
    expect(after?.salt).not.toBe(before?.salt);
    expect(after?.hash).not.toBe(before?.hash);
    expect(after?.updated_at).toBe(updated_at); // not a password change: tokens stay valid

    expect((await api('GET', `/${account.login}`, undefined, basic)).status).toBe(200);
    expect((await api('GET', `/${account.login}`, undefined, { as: { login: account.login, password: `${password}x` } })).status).toBe(401);
    expect((await api('GET', `/${account.login}`, undefined, { as: null, headers: { 'x-auth-token': token } })).status).toBe(200);
  }, 120_000);

  it('leaves an old hash alone after a wrong password', async () => {
    const account = await makeAccount('noupgrade');
    const OLD = { N: 2 ** 14, r: 8, p: 1, keylen: 32 };
    await credentialRepository().putPassword({
      accountId: account.id,
      ...(await hashPassword('the right password', OLD)),
      updated_at: new Date().toISOString(),
    });
    const before = await item(keys.password(account.id));
    expect((await api('GET', `/${account.login}`, undefined, { as: { login: account.login, password: 'a wrong password' } })).status).toBe(
      401,
    );
    expect(await item(keys.password(account.id))).toEqual(before);
  }, 120_000);
});
