/**
 * The real `triton` CLI (npm `triton` 7.x) against the embedded stack: a temp HOME with generated
 * ed25519 keys in `.ssh`, no ssh-agent (`SSH_AUTH_SOCK` unset), TRITON_URL/ACCOUNT/KEY_ID. The CLI
 * signs every request (HTTP Signature); each account's public key is registered with the service.
 * Assertions are on exit codes (0, 1, and 3 for ResourceNotFound) and the CLI's own output.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { api, poll, s3, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { adminOps } from '../../../local/admin-ops';

jest.setTimeout(120_000);

const TRITON = path.resolve(__dirname, '../../../node_modules/triton/bin/triton');
const home = mkdtempSync(path.join(tmpdir(), 'mis-triton-'));
mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });

interface CliUser {
  login: string;
  id: string;
  keyId: string;
}

async function cliUser(prefix: string): Promise<CliUser> {
  const account = await makeAccount(prefix);
  const keyFile = path.join(home, '.ssh', `id_${account.login}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', account.login, '-f', keyFile]);
  const publicKey = readFileSync(`${keyFile}.pub`, 'utf8');
  // Registered when the key store exists; the development authorizer needs none.
  if ('addKey' in adminOps)
    await (adminOps as unknown as { addKey(l: string, k: string): Promise<unknown> }).addKey(account.login, publicKey);
  const keyId = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { login: account.login, id: account.id, keyId };
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function triton(user: CliUser, ...args: string[]): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && k !== 'SSH_AUTH_SOCK' && !k.startsWith('TRITON_') && !k.startsWith('SDC_')) env[k] = v;
  Object.assign(env, { HOME: home, TRITON_URL: stack.url, TRITON_ACCOUNT: user.login, TRITON_KEY_ID: user.keyId });
  return new Promise((resolve) => {
    execFile(process.execPath, [TRITON, ...args], { env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `-j` output: one JSON document per line. */
const jsonLines = (out: string): any[] =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const expectOk = (r: CliResult) => expect({ code: r.code, err: r.code === 0 ? '' : r.stderr + r.stdout }).toEqual({ code: 0, err: '' });

describe('the triton CLI', () => {
  let alice: CliUser;
  let bob: CliUser;
  let machineId: string;
  let machineImage: string;
  let imageId: string;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([cliUser('clia'), cliUser('clib')]);
    const { machine } = await makeMachine(alice.login, { size: 128 * 1024 });
    machineId = machine.id;
    machineImage = machine.image;
  });

  it('image create -w -j, then image list / get / wait', async () => {
    // Act
    const created = await triton(
      alice,
      'image',
      'create',
      '-w',
      '-j',
      '-d',
      'from the cli',
      '-t',
      'foo=bar',
      machineId,
      'cli-img',
      '1.0.0',
    );
    // Assess
    expectOk(created);
    const docs = jsonLines(created.stdout);
    const final = docs[docs.length - 1];
    expect(final).toMatchObject({
      name: 'cli-img',
      version: '1.0.0',
      state: 'active',
      public: false,
      origin: machineImage,
      tags: { foo: 'bar' },
    });
    imageId = final.id;

    const list = await triton(alice, 'image', 'list', '-j');
    expectOk(list);
    expect(
      jsonLines(list.stdout)
        .flat()
        .map((i) => i.id),
    ).toContain(imageId);
    const table = await triton(alice, 'image', 'list');
    expectOk(table);
    expect(table.stdout).toMatch(/cli-img\s+1\.0\.0/);

    const get = await triton(alice, 'image', 'get', '-j', imageId);
    expectOk(get);
    expect(JSON.parse(get.stdout)).toMatchObject({ id: imageId, state: 'active', description: 'from the cli' });
    const byName = await triton(alice, 'image', 'get', '-j', 'cli-img');
    expectOk(byName);
    expect(JSON.parse(byName.stdout).id).toBe(imageId);

    expectOk(await triton(alice, 'image', 'wait', imageId));
  });

  it('exits 3 for a missing image and 1 for other errors', async () => {
    const missing = await triton(alice, 'image', 'get', randomUUID());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/not found/i);
    const bad = await triton(alice, 'image', 'create', randomUUID(), 'x', '1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not yours/);
  });

  it('image update / tag / share / unshare, seen through image get -j and list', async () => {
    expectOk(await triton(alice, 'image', 'update', imageId, 'description=updated', 'homepage=https://example.com'));
    expectOk(await triton(alice, 'image', 'tag', imageId, 'env=prod'));
    let got = JSON.parse((await triton(alice, 'image', 'get', '-j', imageId)).stdout);
    expect(got).toMatchObject({ description: 'updated', homepage: 'https://example.com', tags: { env: 'prod' } });

    expectOk(await triton(alice, 'image', 'share', imageId, bob.id));
    got = JSON.parse((await triton(alice, 'image', 'get', '-j', imageId)).stdout);
    expect(got.acl).toEqual([bob.id]);
    const listWithAcl = await triton(alice, 'image', 'list'); // reads GET /{login} because an image has an acl
    expectOk(listWithAcl);
    const bobGet = await triton(bob, 'image', 'get', '-j', imageId);
    expectOk(bobGet);

    expectOk(await triton(alice, 'image', 'unshare', imageId, bob.id));
    got = JSON.parse((await triton(alice, 'image', 'get', '-j', imageId)).stdout);
    expect(got.acl).toBeUndefined();
    expect((await triton(bob, 'image', 'get', imageId)).code).toBe(3);
  });

  it('image clone (by the account it is shared with), export and delete', async () => {
    expectOk(await triton(alice, 'image', 'share', imageId, bob.id));
    const clone = await triton(bob, 'image', 'clone', '-j', imageId);
    expectOk(clone);
    const cloned = jsonLines(clone.stdout).pop();
    expect(cloned).toMatchObject({ owner: bob.id, state: 'active', name: 'cli-img' });
    expect(cloned.id).not.toBe(imageId);

    const exported = await triton(alice, 'image', 'export', '-j', imageId, `/${alice.login}/stor/cli-export`);
    expectOk(exported);
    expect(exported.stdout).toMatch(/cli-export\/cli-img-1\.0\.0/);

    expect((await triton(alice, 'image', 'delete', '-f', cloned.id)).code).not.toBe(0);
    expectOk(await triton(bob, 'image', 'delete', '-f', cloned.id));
    expect((await triton(bob, 'image', 'get', cloned.id)).code).toBe(3);
  });

  it('instance create -w / list / get / stop -w / start -w / delete -f -w', async () => {
    const created = await triton(alice, 'instance', 'create', '-w', '-j', '--name', 'cli-vm', imageId, 'g1-small');
    expectOk(created);
    // the create answer (provisioning), then the machine as the CLI's wait left it (running)
    const docs = jsonLines(created.stdout);
    expect(docs[0]).toMatchObject({ name: 'cli-vm', state: 'provisioning' });
    const vm = docs.pop();
    expect(vm).toMatchObject({ name: 'cli-vm', state: 'running', image: imageId });

    const list = await triton(alice, 'instance', 'list', '-j');
    expectOk(list);
    expect(
      jsonLines(list.stdout)
        .flat()
        .map((m) => m.id),
    ).toContain(vm.id);
    const get = await triton(alice, 'instance', 'get', '-j', 'cli-vm');
    expectOk(get);
    expect(JSON.parse(get.stdout).id).toBe(vm.id);

    expectOk(await triton(alice, 'instance', 'stop', '-w', vm.id));
    expect(JSON.parse((await triton(alice, 'instance', 'get', '-j', vm.id)).stdout).state).toBe('stopped');
    expectOk(await triton(alice, 'instance', 'start', '-w', vm.id));
    expect(JSON.parse((await triton(alice, 'instance', 'get', '-j', vm.id)).stdout).state).toBe('running');

    expectOk(await triton(alice, 'instance', 'delete', '-f', '-w', vm.id));
    const gone = await triton(alice, 'instance', 'get', vm.id);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/was deleted/);
  });

  it('instance create -w reports a provisioning failure as the CLI does against Triton', async () => {
    // Arrange: an active image whose file is gone before the provisioning workflow reads it
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const made = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'cli-doomed', version: '1' });
    const active = await poll(
      () => api('GET', `/${alice.login}/images/${made.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 100, attempts: 600 },
    );
    expect(active.body.state).toBe('active');
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: stack.env.IMAGES_BUCKET, Prefix: `images/${made.body.id}/` }));
    for (const o of listed.Contents ?? []) await s3().send(new DeleteObjectCommand({ Bucket: stack.env.IMAGES_BUCKET, Key: o.Key! }));

    // Act
    const created = await triton(alice, 'instance', 'create', '-w', '-j', '--name', 'cli-doomed-vm', made.body.id, 'g1-small');

    // Assess
    expect(created.code).toBe(1);
    expect(created.stderr).toMatch(/failed to create instance cli-doomed-vm/);
    const final = jsonLines(created.stdout).pop();
    expect(final).toMatchObject({ name: 'cli-doomed-vm', state: 'failed', error: { code: 'SourceUnavailableError' } });
  });

  it('image delete -f by the owner', async () => {
    expectOk(await triton(alice, 'image', 'delete', '-f', imageId));
    expect((await triton(alice, 'image', 'get', imageId)).code).toBe(3);
  });
});
