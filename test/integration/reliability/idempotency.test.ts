/**
 * Idempotent creates over real HTTP on the embedded stack (lambdas/http/idempotency.ts): concurrent
 * identical requests with one Idempotency-Key make one image, one job and one workflow execution and
 * all get the same answer; the same key with another body is refused in the dialect's shape; keys are
 * scoped to the caller and the operation.
 */
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { api, stack } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { config, documentClient } from '../../../lambdas/wiring';
import { INDEXES, keys } from '../../../lambdas/adapters/dynamodb/table';

type Account = Awaited<ReturnType<typeof makeAccount>>;

async function partition(pk: string): Promise<Record<string, unknown>[]> {
  const out = await documentClient().send(
    new QueryCommand({
      TableName: config.tableName(),
      IndexName: INDEXES.byOwner.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byOwner.partitionKey },
      ExpressionAttributeValues: { ':pk': pk },
    }),
  );
  return out.Items ?? [];
}

let sfn: SFNClient | undefined;
async function executionsOf(jobIds: string[]): Promise<string[]> {
  sfn ??= new SFNClient({ endpoint: stack.env.AWS_ENDPOINT_URL_SFN });
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.env.STATE_MACHINE_ARN, nextToken, maxResults: 1000 }));
    names.push(...(out.executions ?? []).map((e) => e.name ?? ''));
    nextToken = out.nextToken;
  } while (nextToken);
  return names.filter((n) => jobIds.some((id) => n.includes(id)));
}

afterAll(() => sfn?.destroy());

jest.setTimeout(60_000);

describe('Idempotency-Key on create routes', () => {
  let alice: Account;
  beforeAll(async () => {
    alice = await makeAccount('idem');
  });

  it('Triton: 20 concurrent identical creates → one image, one job, one execution, the same answer to all', async () => {
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const key = randomUUID();
    const body = { machine: machine.id, name: 'idem-image', version: '1.0.0' };
    // a token, as a parallel client uses: more simultaneous password checks for one login than the
    // lockout's round allows are refused (docs/decisions/lockout.md)
    const auth = { as: null, headers: { 'x-auth-token': await makeToken(alice.login), 'idempotency-key': key } };
    const answers = await Promise.all(Array.from({ length: 20 }, () => api('POST', `/${alice.login}/images`, body, auth)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((a) => a.body.id));
    const jobIds = new Set(answers.map((a) => a.headers.get('x-joyent-jobid')));
    expect([ids.size, jobIds.size]).toEqual([1, 1]);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    const images = (await partition(keys.ownerImages(alice.id))).filter((i) => i.name === 'idem-image');
    expect(images.map((i) => i.id)).toEqual([...ids]);
    const jobs = (await partition(keys.ownerJobs(alice.id))).filter((j) => (j.entities as { image_id?: string }).image_id === [...ids][0]);
    expect(jobs.map((j) => j.id)).toEqual([...jobIds]);
    expect(await executionsOf([...jobIds] as string[])).toHaveLength(1);

    // A later retry with the same key and body: the same answer again, nothing new started.
    const again = await api(
      'POST',
      `/${alice.login}/images`,
      { version: '1.0.0', name: 'idem-image', machine: machine.id },
      { headers: { 'idempotency-key': key } },
    );
    expect([again.status, again.body.id, again.headers.get('x-joyent-jobid')]).toEqual([201, [...ids][0], [...jobIds][0]]);
    expect((await partition(keys.ownerImages(alice.id))).filter((i) => i.name === 'idem-image')).toHaveLength(1);
  });

  it('Triton: the same key with a different body is 422 InvalidParameter and changes nothing', async () => {
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const key = randomUUID();
    const first = await api(
      'POST',
      `/${alice.login}/images`,
      { machine: machine.id, name: 'idem-a', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    expect(first.status).toBe(201);
    const other = await api(
      'POST',
      `/${alice.login}/images`,
      { machine: machine.id, name: 'idem-b', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    expect([other.status, other.body]).toEqual([
      422,
      {
        code: 'InvalidParameter',
        message: expect.stringMatching(/Idempotency-Key/),
        errors: [expect.objectContaining({ field: 'Idempotency-Key' })],
      },
    ]);
    expect((await partition(keys.ownerImages(alice.id))).filter((i) => i.name === 'idem-b')).toHaveLength(0);
  });

  it('a key is scoped to the caller: another account with the same key gets its own image', async () => {
    const bob = await makeAccount('idemb');
    const [{ machine: ma }, { machine: mb }] = await Promise.all([
      makeMachine(alice.login, { size: 4096 }),
      makeMachine(bob.login, { size: 4096 }),
    ]);
    const key = randomUUID();
    const a = await api(
      'POST',
      `/${alice.login}/images`,
      { machine: ma.id, name: 'scoped', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    const b = await api(
      'POST',
      `/${bob.login}/images`,
      { machine: mb.id, name: 'scoped', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(b.body.owner).toBe(bob.id);
  });

  it('a refused request is not remembered: fixing it and retrying with the same key runs it', async () => {
    const key = randomUUID();
    const bad = await api(
      'POST',
      `/${alice.login}/images`,
      { name: 'no-machine', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    expect(bad.status).toBe(409);
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const good = await api(
      'POST',
      `/${alice.login}/images`,
      { machine: machine.id, name: 'no-machine', version: '1.0.0' },
      { headers: { 'idempotency-key': key } },
    );
    expect(good.status).toBe(201);
  });

  it('a malformed key is a 409 InvalidArgument (Triton) before anything runs', async () => {
    const res = await api(
      'POST',
      `/${alice.login}/images`,
      { name: 'x', version: '1.0.0', machine: randomUUID() },
      { headers: { 'idempotency-key': 'a'.repeat(256) } },
    );
    expect([res.status, res.body.code]).toEqual([409, 'InvalidArgument']);
  });

  it('IMS: 20 concurrent identical creates → one job and one image; a different body is IMG.0001', async () => {
    const token = await makeToken(alice.login);
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const key = randomUUID();
    const headers = { 'x-auth-token': token, 'idempotency-key': key };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api('POST', '/v2/cloudimages/action', { name: 'idem_ims', instance_id: machine.id }, { headers })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const jobIds = new Set(answers.map((a) => a.body.job_id));
    expect(jobIds.size).toBe(1);
    expect((await partition(keys.ownerImages(alice.id))).filter((i) => i.name === 'idem_ims')).toHaveLength(1);
    expect(await executionsOf([...jobIds])).toHaveLength(1);
    const other = await api('POST', '/v2/cloudimages/action', { name: 'idem_ims2', instance_id: machine.id }, { headers });
    expect([other.status, other.body]).toEqual([400, { error: { code: 'IMG.0001', message: expect.stringMatching(/Idempotency-Key/) } }]);
  });

  it('Triton CreateMachine: a retried create makes one machine', async () => {
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const image = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'for-machines', version: '1.0.0' });
    expect(image.status).toBe(201);
    const { poll } = await import('../../helpers/local-stack');
    await poll(
      () => api('GET', `/${alice.login}/images/${image.body.id}`),
      (r) => r.body.state !== 'creating',
    );
    const packages = await api('GET', `/${alice.login}/packages`);
    const key = randomUUID();
    const body = { image: image.body.id, package: packages.body[0].id, name: 'idem-vm' };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => api('POST', `/${alice.login}/machines`, body, { headers: { 'idempotency-key': key } })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await partition(keys.ownerMachines(alice.id))).filter((m) => m.name === 'idem-vm')).toHaveLength(1);
  });

  it('UForge generate: 10 concurrent identical requests → one image ticket; another body with the key is a 400 uforgeError', async () => {
    const { machine } = await makeMachine(alice.login, { size: 64 * 1024 });
    const headers = { 'x-auth-token': await makeToken(alice.login), accept: 'application/json' };
    const appliance = await api(
      'POST',
      `/users/${alice.login}/appliances`,
      { name: 'idem-appliance', version: '1', machineId: machine.id, osProfile: { name: 'CentOS', version: '7', arch: 'x86_64' } },
      { headers },
    );
    expect(appliance.status).toBe(201);
    const aid = String(appliance.body.uri).split('/').pop()!;
    const path = `/users/${alice.login}/appliances/${aid}/images`;
    const keyed = { headers: { ...headers, 'idempotency-key': randomUUID() } };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => api('POST', path, { compress: true, targetFormat: { name: 'Raw' } }, keyed)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.body.uri)).size).toBe(1);
    const listed = await api('GET', path, undefined, { headers });
    expect(listed.body.total).toBe(1);
    const other = await api('POST', path, { compress: false, targetFormat: { name: 'Raw' } }, keyed);
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ statusCode: 400, localizedErrorMsg: { message: expect.stringMatching(/Idempotency-Key/) } });
    expect((await api('GET', path, undefined, { headers })).body.total).toBe(1);
  });

  it('Triton clone: a retried clone makes one image', async () => {
    const owner = await makeAccount('idemown');
    const { machine } = await makeMachine(owner.login, { size: 64 * 1024 });
    const image = await api(
      'POST',
      `/${owner.login}/images`,
      { machine: machine.id, name: 'to-clone', version: '1.0.0' },
      { as: owner.login },
    );
    expect(image.status).toBe(201);
    const { poll } = await import('../../helpers/local-stack');
    await poll(
      () => api('GET', `/${owner.login}/images/${image.body.id}`, undefined, { as: owner.login }),
      (r) => r.body.state !== 'creating',
    );
    await api('POST', `/${owner.login}/images/${image.body.id}?action=update`, { acl: [alice.id] }, { as: owner.login });
    const auth = { as: null, headers: { 'x-auth-token': await makeToken(alice.login), 'idempotency-key': randomUUID() } };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => api('POST', `/${alice.login}/images/${image.body.id}?action=clone`, undefined, auth)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await partition(keys.ownerImages(alice.id))).filter((i) => i.name === 'to-clone')).toHaveLength(1);
  });
});
