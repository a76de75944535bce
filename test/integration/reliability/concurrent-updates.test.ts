/**
 * 50 concurrent updates of one image against the real local DynamoDB (no stub): each answer is
 * applied (200) or a clean conflict in the dialect's shape, the record's `rev` grew by exactly the
 * number applied (no lost update), and the final record is one applied update whole — the two
 * fields each update sets belong to the same update — with every other field as it was.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { api, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { config, documentClient } from '../../../lambdas/wiring';
import { keys } from '../../../lambdas/adapters/dynamodb/table';

jest.setTimeout(180_000);

const N = 50;

async function item(id: string): Promise<Record<string, any>> {
  const out = await documentClient().send(new GetCommand({ TableName: config.tableName(), Key: keys.image(id), ConsistentRead: true }));
  return out.Item!;
}

describe('concurrent updates of one image', () => {
  let alice: Awaited<ReturnType<typeof makeAccount>>;
  let imageId: string;
  beforeAll(async () => {
    alice = await makeAccount('race');
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const created = await api('POST', `/${alice.login}/images`, {
      machine: machine.id,
      name: 'raced',
      version: '1.0.0',
      tags: { keep: 'me' },
    });
    imageId = created.body.id;
    await poll(
      () => api('GET', `/${alice.login}/images/${imageId}`),
      (r) => r.body.state === 'active',
    );
  });

  it('Triton ?action=update ×50: applied or 409 InvalidState, rev counts every applied one, the last applied wins whole', async () => {
    const before = await item(imageId);
    const token = await makeToken(alice.login);
    const answers = await Promise.all(
      // a token: parallel password checks for one login past the lockout's round are refused (docs/decisions/lockout.md)
      Array.from({ length: N }, (_, i) =>
        api(
          'POST',
          `/${alice.login}/images/${imageId}?action=update`,
          { description: `d${i}`, homepage: `https://example.com/${i}` },
          { as: null, headers: { 'x-auth-token': token } },
        ),
      ),
    );
    const applied = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    for (const a of answers) {
      if (a.status !== 200) expect([a.status, a.body.code]).toEqual([409, 'InvalidState']);
    }
    expect(applied.length).toBeGreaterThan(0);
    const after = await item(imageId);
    expect(after.rev).toBe(before.rev + applied.length);
    const winner = Number(String(after.description).slice(1));
    expect(applied).toContain(winner);
    expect(after.homepage).toBe(`https://example.com/${winner}`);
    expect({ name: after.name, version: after.version, tags: after.tags, state: after.state, files: after.files }).toEqual({
      name: before.name,
      version: before.version,
      tags: before.tags,
      state: before.state,
      files: before.files,
    });
  });

  it('IMS PATCH ×50: applied or 400 IMG.0046, rev counts every applied one, the last applied wins whole', async () => {
    const token = await makeToken(alice.login);
    const before = await item(imageId);
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        api(
          'PATCH',
          `/v2/cloudimages/${imageId}`,
          [
            { op: 'replace', path: '/__description', value: `p${i}` },
            { op: 'replace', path: '/min_ram', value: 1024 + i },
          ],
          { headers: { 'x-auth-token': token } },
        ),
      ),
    );
    const applied = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    for (const a of answers) {
      if (a.status !== 200) expect([a.status, a.body]).toEqual([400, { error: { code: 'IMG.0046', message: expect.any(String) } }]);
    }
    expect(applied.length).toBeGreaterThan(0);
    const after = await item(imageId);
    expect(after.rev).toBe(before.rev + applied.length);
    const winner = Number(String(after.description).slice(1));
    expect(applied).toContain(winner);
    expect(after.requirements.min_ram).toBe(1024 + winner);
    expect({ name: after.name, homepage: after.homepage, tags: after.tags, state: after.state }).toEqual({
      name: before.name,
      homepage: before.homepage,
      tags: before.tags,
      state: before.state,
    });
  });
});
