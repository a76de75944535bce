/**
 * IMS image names are unique per account by a conditional write on a name record
 * (docs/decisions/name-uniqueness.md), over real HTTP on the embedded stack: concurrent creates of
 * one name, renames and deletes keeping the record right, Triton images counting too.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { api, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';
import { config, documentClient } from '../../../lambdas/wiring';
import { keys } from '../../../lambdas/adapters/dynamodb/table';

jest.setTimeout(120_000);

type Account = Awaited<ReturnType<typeof makeAccount>>;

async function holders(owner: string, name: string): Promise<string[]> {
  const out = await documentClient().send(
    new GetCommand({ TableName: config.tableName(), Key: keys.imageName(owner, name), ConsistentRead: true }),
  );
  return [...((out.Item?.holders as Set<string> | undefined) ?? [])].sort();
}

describe('IMS name uniqueness', () => {
  let alice: Account;
  let ims: { headers: Record<string, string> };
  beforeAll(async () => {
    alice = await makeAccount('names');
    ims = { headers: { 'x-auth-token': await makeToken(alice.login) } };
  });

  async function imageOfJob(jobId: string): Promise<string> {
    const job = await poll(
      () => api('GET', `/v1/${alice.id}/jobs/${jobId}`, undefined, ims),
      (r) => ['SUCCESS', 'FAIL'].includes(r.body?.status),
    );
    expect(job.body.status).toBe('SUCCESS');
    return job.body.entities.image_id;
  }

  it('20 concurrent creates of one name: exactly one succeeds, the rest IMG.0009', async () => {
    const machines = await Promise.all(Array.from({ length: 4 }, () => makeMachine(alice.login, { size: 4096 })));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api('POST', '/v2/cloudimages/action', { name: 'contended', instance_id: machines[i % 4].machine.id }, ims),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400).map((a) => a.body.error.code)).toEqual(Array(19).fill('IMG.0009'));
    const imageId = await imageOfJob(ok[0].body.job_id);
    expect(await holders(alice.id, 'contended')).toEqual([imageId]);
    const listed = await api('GET', '/v2/cloudimages?name=contended', undefined, ims);
    expect(listed.body.images.map((i: { id: string }) => i.id)).toEqual([imageId]);
  });

  it('a rename moves the name: the old name is free, the new one taken; a rename onto a taken name is IMG.0009', async () => {
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const a = await imageOfJob((await api('POST', '/v2/cloudimages/action', { name: 'before', instance_id: machine.id }, ims)).body.job_id);
    const b = await imageOfJob((await api('POST', '/v2/cloudimages/action', { name: 'other', instance_id: machine.id }, ims)).body.job_id);
    const patch = (id: string, name: string) => api('PATCH', `/v2/cloudimages/${id}`, [{ op: 'replace', path: '/name', value: name }], ims);
    expect((await patch(a, 'after')).status).toBe(200);
    expect([await holders(alice.id, 'before'), await holders(alice.id, 'after')]).toEqual([[], [a]]);
    const clash = await patch(b, 'after');
    expect([clash.status, clash.body.error.code]).toEqual([400, 'IMG.0009']);
    expect(await holders(alice.id, 'other')).toEqual([b]);
    const reuse = await api('POST', '/v2/cloudimages/action', { name: 'before', instance_id: machine.id }, ims);
    expect(reuse.status).toBe(200);
  });

  it('a delete frees the name', async () => {
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const id = await imageOfJob(
      (await api('POST', '/v2/cloudimages/action', { name: 'short-lived', instance_id: machine.id }, ims)).body.job_id,
    );
    expect((await api('DELETE', `/v2/images/${id}`, undefined, ims)).status).toBeLessThan(300);
    expect(await holders(alice.id, 'short-lived')).toEqual([]);
    expect((await api('POST', '/v2/cloudimages/action', { name: 'short-lived', instance_id: machine.id }, ims)).status).toBe(200);
  });

  it("a Triton image's name counts for IMS (Triton itself allows duplicates)", async () => {
    const { machine } = await makeMachine(alice.login, { size: 4096 });
    const t1 = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'shared_name', version: '1.0.0' });
    const t2 = await api('POST', `/${alice.login}/images`, { machine: machine.id, name: 'shared_name', version: '2.0.0' });
    expect([t1.status, t2.status]).toEqual([201, 201]);
    expect(await holders(alice.id, 'shared_name')).toEqual([t1.body.id, t2.body.id].sort());
    const refused = await api('POST', '/v2/cloudimages/action', { name: 'shared_name', instance_id: machine.id }, ims);
    expect([refused.status, refused.body.error.code]).toEqual([400, 'IMG.0009']);
  });

  it('a request whose names repeat is IMG.0009 and claims nothing', async () => {
    const res = await api(
      'POST',
      '/v2/cloudimages/action',
      { name: 'twice', image_url: 'bkt:disk.raw', min_disk: 40, data_images: [{ name: 'twice', image_url: 'bkt:data.raw', min_disk: 1 }] },
      ims,
    );
    expect([res.status, res.body.error.code]).toEqual([400, 'IMG.0009']);
    expect(await holders(alice.id, 'twice')).toEqual([]);
  });
});
