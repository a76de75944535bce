/**
 * Control characters (NUL, BEL, ESC, CSI …) are refused in every string a caller stores, in every
 * dialect, before anything is written: such text reaches other users' terminals through sharing and
 * listings. And no answer carries CORS headers (no cross-origin browser client exists).
 */
import { randomBytes } from 'node:crypto';
import { api } from '../../helpers/local-stack';
import { makeAccount, makeMachine, makeToken } from '../../helpers/fixtures';

const NASTY = ['\u001b[2J\u001b]0;pwned\u0007', 'bell\u0007', 'nul\u0000', 'csi\u009b31m', 'del\u007f', 'line\nbreak'];

describe('control characters and CORS', () => {
  let user: Awaited<ReturnType<typeof makeAccount>>;
  let token: string;
  let machineId: string;

  beforeAll(async () => {
    user = await makeAccount('text');
    token = await makeToken(user.login);
    machineId = (await makeMachine(user.login, { size: 4096 })).machine.id;
  });

  it('Triton: refuses them in create and update fields and tags (409), storing nothing', async () => {
    for (const s of NASTY) {
      for (const body of [
        { machine: machineId, name: `n${randomBytes(3).toString('hex')}`, version: '1.0.0', description: s },
        { machine: machineId, name: `n${randomBytes(3).toString('hex')}`, version: '1.0.0', tags: { k: s } },
        { machine: machineId, name: `n${randomBytes(3).toString('hex')}`, version: '1.0.0', tags: { [s]: 'v' } },
      ]) {
        const res = await api('POST', `/${user.login}/images`, body);
        expect([JSON.stringify(s), res.status, res.body.code]).toEqual([JSON.stringify(s), 409, 'InvalidArgument']);
      }
    }
    // the account's own images (the listing also shows other accounts' public ones)
    expect((await api('GET', `/${user.login}/images?state=all&owner=${user.id}`)).body).toEqual([]);
  });

  it('IMS: refuses them in create and PATCH (400 IMG.xxxx)', async () => {
    const h = { headers: { 'x-auth-token': token } };
    for (const s of NASTY) {
      const res = await api('POST', '/v2/cloudimages/action', { name: 'ims-text', instance_id: machineId, description: s }, h);
      expect([JSON.stringify(s), res.status, res.body.error?.code]).toEqual([JSON.stringify(s), 400, 'IMG.0004']);
      const tags = await api(
        'POST',
        '/v2/cloudimages/action',
        { name: 'ims-text', instance_id: machineId, image_tags: [{ key: 'k', value: s }] },
        h,
      );
      expect(tags.status).toBe(400);
    }
    const created = await api('POST', '/v2/cloudimages/action', { name: 'ims-clean', instance_id: machineId }, h);
    expect(created.status).toBe(200);
    const listed = await api('GET', '/v2/cloudimages?name=ims-clean', undefined, h);
    const id = listed.body.images[0].id;
    const patched = await api('PATCH', `/v2/cloudimages/${id}`, [{ op: 'replace', path: '/__description', value: '\u001b[31mred' }], h);
    expect(patched.status).toBe(400);
    expect((await api('GET', `/v2/cloudimages?id=${id}`, undefined, h)).body.images[0].__description ?? '').not.toContain('\u001b');
  });

  it('sends no CORS headers, on answers and errors alike', async () => {
    for (const res of [
      await api('GET', `/${user.login}/images`),
      await api('GET', `/${user.login}/images/00000000-0000-4000-8000-000000000000`),
      await api('GET', '/v2/cloudimages', undefined, { headers: { 'x-auth-token': token } }),
      await api('GET', `/${user.login}`, undefined, { as: null }),
    ]) {
      for (const name of res.headers.keys()) expect(name.startsWith('access-control-')).toBe(false);
    }
  });
});
