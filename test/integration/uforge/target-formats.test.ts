/**
 * Every UForge target format end to end: the documented request (VirtualBox, its literal body and
 * headers) and each other target format generated with `compress`, downloaded with the one-use key,
 * gunzipped, and checked against the machine's disk — raw byte for byte, the others with
 * `qemu-img compare` (an ova through the vmdk inside it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { api, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';

const NS = 'http://www.usharesoft.com/uforge';
const json = { headers: { accept: 'application/json', 'content-type': 'application/json' } };
const idOf = (uri: string) => uri.split('/').pop()!;
const dir = mkdtempSync(path.join(tmpdir(), 'uforge-formats-'));

const DOC_BODY = `<ns0:image xmlns:ns0="${NS}">
		<compress>true</compress>
		<targetFormat>
			<name>VirtualBox</name>
		</targetFormat>
		<installProfile>
			<memorySize>512</memorySize>
		</installProfile>
	</ns0:image>`;

describe('UForge target formats', () => {
  let login: string;
  let aid: string;
  let diskFile: string;
  let disk: Buffer;

  beforeAll(async () => {
    const account = await makeAccount('ufmt');
    login = account.login;
    const m = await makeMachine(login, { size: 5 * 1024 * 1024 + 3 * 512 });
    disk = m.diskBytes();
    diskFile = path.join(dir, 'disk.raw');
    writeFileSync(diskFile, disk);
    const res = await api(
      'POST',
      `/users/${login}/appliances`,
      { name: 'fmt', version: '1.0', machineId: m.machine.id, osProfile: { name: 'Debian', version: '12', arch: 'x86_64' } },
      json,
    );
    expect(res.status).toBe(201);
    aid = idOf(res.body.uri);
  }, 60_000);

  async function generateAndDownload(body: string | object, headers: Record<string, string>): Promise<{ file: Buffer; image: any }> {
    const gen = await api('POST', `/users/${login}/appliances/${aid}/images`, body, { headers });
    expect(gen.status).toBe(201);
    const itid = idOf(String(gen.headers.get('location')));
    const status = await poll(
      () => api('GET', `/users/${login}/appliances/${aid}/images/${itid}/status`, undefined, json),
      (r) => r.body?.complete === true || r.body?.error === true,
      { intervalMs: 250, attempts: 400 },
    );
    expect(status.body).toMatchObject({ complete: true, error: false });
    const image = (await api('GET', `/users/${login}/appliances/${aid}/images/${itid}`, undefined, json)).body;
    const dl = await api('GET', `/users/${login}/appliances/${aid}/images/${itid}/downloads?downloadId=${image.downloadKey}`, undefined, {
      as: null,
    });
    expect(dl.status).toBe(302);
    const file = gunzipSync(Buffer.from(await (await fetch(dl.headers.get('location')!)).arrayBuffer()));
    return { file, image };
  }

  const compare = (file: string, format: string) =>
    execFileSync('qemu-img', ['compare', '-f', format, '-F', 'raw', file, diskFile], { encoding: 'utf8' });

  it('generates the documented request (VirtualBox → ova): the vmdk inside the ova holds the disk', async () => {
    const { file, image } = await generateAndDownload(DOC_BODY, {
      accept: 'application/xml-H',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(image).toMatchObject({
      targetFormat: { name: 'VirtualBox' },
      fileExtension: 'ova.gz',
      fileName: expect.stringMatching(/\.ova\.gz$/),
    });
    const out = mkdtempSync(path.join(dir, 'ova-'));
    writeFileSync(path.join(out, 'image.ova'), file);
    const names = execFileSync('tar', ['-tf', path.join(out, 'image.ova')], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(names[0]).toMatch(/\.ovf$/);
    execFileSync('tar', ['-xf', 'image.ova'], { cwd: out });
    const vmdk = readdirSync(out).find((n) => n.endsWith('.vmdk'))!;
    expect(compare(path.join(out, vmdk), 'vmdk')).toMatch(/identical/);
  }, 120_000);

  it.each([
    ['Raw', 'raw'],
    ['KVM', 'qcow2'],
    ['OpenStack', 'qcow2'],
    ['VMware Workstation', 'vmdk'],
    ['VMDK', 'vmdk'],
    ['Hyper-V', 'vpc'],
    ['VHD', 'vpc'],
  ])(
    'generates %s and the download is the disk (%s)',
    async (name, qemuFormat) => {
      const { file, image } = await generateAndDownload({ compress: true, targetFormat: { name } }, json.headers);
      expect(image.targetFormat.name).toBe(name);
      if (qemuFormat === 'raw') {
        expect(file.equals(disk)).toBe(true);
        return;
      }
      const f = path.join(dir, `${name.replace(/\W/g, '_')}.img`);
      writeFileSync(f, file);
      if (qemuFormat === 'vpc')
        expect(file.subarray(file.length - 512, file.length - 504).toString('latin1')).toBe('conectix'); // qemu-img info calls a fixed VHD raw
      else expect(JSON.parse(execFileSync('qemu-img', ['info', '--output=json', f], { encoding: 'utf8' })).format).toBe(qemuFormat);
      expect(compare(f, qemuFormat)).toMatch(/identical/);
    },
    120_000,
  );

  it('lists every target format it can generate', async () => {
    const res = await api('GET', `/users/${login}/targetformats`, undefined, json);
    expect(res.body.targetFormats.targetFormat.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(['Raw', 'KVM', 'OpenStack', 'VirtualBox', 'VMware vCenter', 'VMware Workstation', 'Hyper-V']),
    );
  });
});
