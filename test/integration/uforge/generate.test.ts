/**
 * The UForge dialect over real HTTP on the embedded stack, authenticated with HTTP Basic as the
 * documented curl examples are: appliances, the documented generate request (its literal body and
 * headers), status polling, the one-use download, cancel mid-build (nothing left in S3), the
 * documented refusals (unknown format, no OS profile, another user's appliance) and hostile XML.
 */
import { gunzipSync } from 'node:zlib';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { XMLParser } from 'fast-xml-parser';
import { api, poll, s3, stack, type ApiInit } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { armS3Fault } from '../../helpers/s3-faults';
import { applianceImageRepository } from '../../../lambdas/wiring';
import { imageFilePrefix } from '../../../lambdas/workflow/state';

type Account = Awaited<ReturnType<typeof makeAccount>>;

const NS = 'http://www.usharesoft.com/uforge';
const xmlReader = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false });
const xml = (init: ApiInit = {}): ApiInit => ({
  ...init,
  headers: { accept: 'application/xml', 'content-type': 'application/xml', ...(init.headers as Record<string, string>) },
});
const json = (init: ApiInit = {}): ApiInit => ({
  ...init,
  headers: { accept: 'application/json', 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
});
/** The root element and fields of an XML answer. */
const readXml = (text: string): [string, any] => Object.entries(xmlReader.parse(text)).find(([k]) => k !== '?xml') as [string, any];
const idOf = (uri: string) => uri.split('/').pop()!;

/** machineImage_generate's example body, byte for byte as the API reference prints it. */
const DOC_BODY = `<ns0:image xmlns:ns0="http://www.usharesoft.com/uforge">
		<compress>true</compress>
		<targetFormat>
			<name>VirtualBox</name>
		</targetFormat>
		<installProfile>
			<memorySize>512</memorySize>
		</installProfile>
	</ns0:image>`;
/**
 * The headers its curl line sends: `-H "Accept: application/xml"-H "Content-type: application/xml"`
 * glues `-H` onto the Accept value (and makes the next word a URL), and `--data-binary` without a
 * Content-Type header sends curl's default form type.
 */
const DOC_HEADERS = { accept: 'application/xml-H', 'content-type': 'application/x-www-form-urlencoded' };

const applianceXml = (machineId: string, opts: { os?: boolean; name?: string } = {}) =>
  `<ns0:appliance xmlns:ns0="${NS}"><name>${opts.name ?? 'app'}</name><version>1.0</version><machineId>${machineId}</machineId>` +
  (opts.os === false ? '' : '<osProfile><name>CentOS</name><version>7</version><arch>x86_64</arch></osProfile>') +
  '<installProfile><memorySize>1024</memorySize></installProfile></ns0:appliance>';

async function makeAppliance(account: Account, machineId: string, opts: { os?: boolean; name?: string } = {}): Promise<string> {
  const res = await api('POST', `/users/${account.login}/appliances`, applianceXml(machineId, opts), xml());
  expect(res.status).toBe(201);
  const [root, fields] = readXml(res.body);
  expect(root).toBe('appliance');
  return idOf(fields.uri);
}

async function waitForStatus(account: Account, aid: string, itid: string) {
  return poll(
    () => api('GET', `/users/${account.login}/appliances/${aid}/images/${itid}/status`, undefined, json()),
    (r) => r.body?.complete === true || r.body?.error === true || r.body?.cancelled === true,
    { intervalMs: 200, attempts: 300 },
  );
}

async function objectsUnder(prefix: string) {
  const bucket = stack.env.IMAGES_BUCKET;
  const objects = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const uploads = await s3().send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return { objects: objects.Contents ?? [], uploads: uploads.Uploads ?? [] };
}

describe('UForge machine image generation over HTTP', () => {
  let alice: Account;
  let bob: Account;
  let machine: Awaited<ReturnType<typeof makeMachine>>;
  let aid: string;

  beforeAll(async () => {
    alice = await makeAccount('ufit');
    bob = await makeAccount('ufbob');
    machine = await makeMachine(alice.login, { size: 3 * 1024 * 1024 + 4321 });
    aid = await makeAppliance(alice, machine.machine.id);
  }, 60_000);

  it('accepts the documented request (literal body and headers): 201 and an XML image ticket for VirtualBox', async () => {
    const res = await api('POST', `/users/${alice.login}/appliances/${aid}/images`, DOC_BODY, { headers: DOC_HEADERS });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const [root, ticket] = readXml(res.body);
    expect(root).toBe('image');
    expect(ticket).toMatchObject({
      compress: 'true',
      targetFormat: { name: 'VirtualBox', format: { name: 'vbox' } },
      fileExtension: 'ova.gz',
      installProfile: { memorySize: '512' },
    });
    expect((await waitForStatus(alice, aid, idOf(ticket.uri))).body).toMatchObject({ complete: true });
  }, 90_000);

  it('generates from the documented body shape: 201 ticket → status polled to complete → one-use download of the disk', async () => {
    const body = DOC_BODY.replace('VirtualBox', 'Raw');
    const res = await api('POST', `/users/${alice.login}/appliances/${aid}/images`, body, { headers: DOC_HEADERS });
    expect(res.status).toBe(201);
    const [root, ticket] = readXml(res.body);
    expect(root).toBe('image');
    expect(res.body).toContain(`xmlns:ns0="${NS}"`);
    expect(ticket).toMatchObject({
      compress: 'true',
      targetFormat: { name: 'Raw' },
      installProfile: { memorySize: '512' },
      status: { complete: 'false' },
    });
    const itid = idOf(ticket.uri);
    expect(res.headers.get('location')).toBe(`/${ticket.uri}`);

    const status = await waitForStatus(alice, aid, itid);
    expect(status.body).toMatchObject({ complete: true, error: false, cancelled: false, percentage: 100 });

    const image = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}`, undefined, json());
    expect(image.body).toMatchObject({
      imageCreated: true,
      compress: true,
      fileName: expect.stringMatching(/\.raw\.gz$/),
      downloadUri: `${ticket.uri}/downloads`,
    });
    const key: string = image.body.downloadKey;
    expect(key).toMatch(/^[0-9a-f]{64}$/);

    // without credentials, with the key: a redirect to the file, once
    const first = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads?downloadId=${key}`, undefined, {
      as: null,
    });
    expect(first.status).toBe(302);
    const file = Buffer.from(await (await fetch(first.headers.get('location')!)).arrayBuffer());
    expect(gunzipSync(file).equals(machine.diskBytes())).toBe(true);
    expect(file.length).toBe(image.body.fileSize);
    const again = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads?downloadId=${key}`, undefined, {
      as: null,
    });
    expect(again.status).toBe(401);
    // a new key is there to read, and the old one stays spent
    const reread = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}`, undefined, json());
    expect(reread.body.downloadKey).toMatch(/^[0-9a-f]{64}$/);
    expect(reread.body.downloadKey).not.toBe(key);
    // anonymous without a key: 401; the owner with Basic: the named-file form works too
    expect((await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads`, undefined, { as: null })).status).toBe(
      401,
    );
    const named = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads/${image.body.fileName}`);
    expect(named.status).toBe(302);
    // another account's credentials, or its key on another user's path, never download
    expect(
      (await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads`, undefined, { as: bob.login })).status,
    ).toBe(403);
    expect(
      (
        await api(
          'GET',
          `/users/${bob.login}/appliances/${aid}/images/${itid}/downloads?downloadId=${reread.body.downloadKey}`,
          undefined,
          { as: null },
        )
      ).status,
    ).toBe(401);
  }, 90_000);

  it('answers XML or JSON by Accept on every read route, and lists images and statuses', async () => {
    const gen = await api(
      'POST',
      `/users/${alice.login}/appliances/${aid}/images`,
      { targetFormat: { name: 'raw' }, compress: false },
      json(),
    );
    expect(gen.status).toBe(201);
    expect(gen.body).toMatchObject({ compress: false, targetFormat: { name: 'Raw' } });
    const itid = idOf(gen.body.uri);
    await waitForStatus(alice, aid, itid);
    const paths: [string, string][] = [
      [`/users/${alice.login}/appliances`, 'appliances'],
      [`/users/${alice.login}/appliances/${aid}`, 'appliance'],
      [`/users/${alice.login}/appliances/${aid}/images`, 'images'],
      [`/users/${alice.login}/appliances/${aid}/images/statuses`, 'statuses'],
      [`/users/${alice.login}/appliances/${aid}/images/${itid}`, 'image'],
      [`/users/${alice.login}/appliances/${aid}/images/${itid}/status`, 'status'],
      [`/users/${alice.login}/targetformats`, 'targetFormats'],
    ];
    for (const [path, root] of paths) {
      const asXml = await api('GET', path, undefined, xml());
      expect([path, asXml.status, asXml.headers.get('content-type')]).toEqual([path, 200, 'application/xml']);
      expect(readXml(asXml.body)[0]).toBe(root);
      const asDefault = await api('GET', path); // no Accept: XML, UForge's default
      expect(asDefault.headers.get('content-type')).toBe('application/xml');
      const asJson = await api('GET', path, undefined, json());
      expect([path, asJson.status, asJson.headers.get('content-type')]).toEqual([path, 200, 'application/json']);
      expect(typeof asJson.body).toBe('object');
    }
    const list = await api('GET', `/users/${alice.login}/appliances/${aid}/images`, undefined, json());
    expect(list.body.images.image.map((i: { uri: string }) => idOf(i.uri))).toContain(itid);
    const statuses = await api('GET', `/users/${alice.login}/appliances/${aid}/images/statuses`, undefined, json());
    expect(statuses.body.total).toBe(list.body.total);
    // not compressed: generated, but not downloadable (as documented)
    const nodl = await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}/downloads`, undefined, json());
    expect(nodl.status).toBe(400);
    expect(nodl.body).toMatchObject({
      statusCode: 400,
      requestMethod: 'GET',
      localizedErrorMsg: { message: expect.stringContaining('compress') },
    });
    // errors follow Accept too
    const missing = await api(
      'GET',
      `/users/${alice.login}/appliances/${aid}/images/00000000-0000-4000-8000-000000000000`,
      undefined,
      json(),
    );
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, requestUri: expect.stringContaining('/images/'), timestamp: expect.any(String) });
  }, 90_000);

  it('updates, regenerates and deletes: PUT appliance, POST and PUT regenerate → new tickets, DELETE image and all images', async () => {
    const put = await api(
      'PUT',
      `/users/${alice.login}/appliances/${aid}`,
      { description: 'updated', installProfile: { memorySize: 768 } },
      json(),
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ description: 'updated', installProfile: { memorySize: 768 } });
    const gen = await api(
      'POST',
      `/users/${alice.login}/appliances/${aid}/images`,
      `<image><compress>true</compress><targetFormat><name>Raw</name></targetFormat></image>`,
      xml(),
    );
    const itid = idOf(readXml(gen.body)[1].uri);
    await waitForStatus(alice, aid, itid);
    const regen = await api('POST', `/users/${alice.login}/appliances/${aid}/images/${itid}`, undefined, json());
    expect(regen.status).toBe(201);
    expect(idOf(regen.body.uri)).not.toBe(itid);
    expect(regen.body).toMatchObject({ compress: true, targetFormat: { name: 'Raw' } });
    const regenPut = await api('PUT', `/users/${alice.login}/appliances/${aid}/images/${itid}`, undefined, xml());
    expect(regenPut.status).toBe(201);
    await waitForStatus(alice, aid, idOf(regen.body.uri));
    await waitForStatus(alice, aid, idOf(readXml(regenPut.body)[1].uri));

    const record = await applianceImageRepository().get(itid);
    expect((await objectsUnder(imageFilePrefix(record!.image_id))).objects.length).toBe(1);
    expect((await api('DELETE', `/users/${alice.login}/appliances/${aid}/images/${itid}`)).status).toBe(204);
    expect((await api('GET', `/users/${alice.login}/appliances/${aid}/images/${itid}`, undefined, json())).status).toBe(404);
    expect((await objectsUnder(imageFilePrefix(record!.image_id))).objects).toEqual([]);

    expect((await api('DELETE', `/users/${alice.login}/appliances/${aid}/images`)).status).toBe(204);
    const after = await api('GET', `/users/${alice.login}/appliances/${aid}/images`, undefined, json());
    expect(after.body.total).toBe(0);
  }, 120_000);

  it('cancels a generation mid-build: status cancelled, execution stopped, no object and no multipart upload left', async () => {
    const big = await makeMachine(alice.login, { size: 60 * 1024 * 1024 }); // under the test stack's chunking threshold (test/helpers/global-setup.ts)
    const bigAid = await makeAppliance(alice, big.machine.id, { name: 'big' });
    // the local S3 serves this disk at 6 MiB/s (local/faults.ts): the build is certainly still running
    // when the test cancels it, however fast the machine
    const disarm = await armS3Fault({
      op: 'GetObject',
      bucket: stack.env.DISKS_BUCKET,
      prefix: big.machine.disks[0].key,
      times: -1,
      bytesPerSecond: 6 * 1024 * 1024,
    });
    try {
      const gen = await api(
        'POST',
        `/users/${alice.login}/appliances/${bigAid}/images`,
        { compress: true, targetFormat: { name: 'Raw' } },
        json(),
      );
      expect(gen.status).toBe(201);
      const itid = idOf(gen.body.uri);
      const running = await poll(
        () => api('GET', `/users/${alice.login}/appliances/${bigAid}/images/${itid}/status`, undefined, json()),
        (r) => r.body?.percentage > 5 || r.body?.complete === true,
        { intervalMs: 50, attempts: 1200 },
      );
      expect(running.body.complete).toBe(false); // the build must still be running for this test to mean anything
      const cancel = await api('DELETE', `/users/${alice.login}/appliances/${bigAid}/images/${itid}/status`, undefined, json());
      expect(cancel.status).toBe(200);
      expect(cancel.body).toMatchObject({ cancelled: true, complete: false });
      const record = await applianceImageRepository().get(itid);
      // the build task keeps running after StopExecution until it notices; give it time, then look
      await new Promise((r) => setTimeout(r, 4000));
      expect(await objectsUnder(imageFilePrefix(record!.image_id))).toEqual({ objects: [], uploads: [] });
      const status = await api('GET', `/users/${alice.login}/appliances/${bigAid}/images/${itid}/status`, undefined, json());
      expect(status.body).toMatchObject({ cancelled: true, complete: false, percentage: expect.any(Number) });
      const again = await api('DELETE', `/users/${alice.login}/appliances/${bigAid}/images/${itid}/status`, undefined, json());
      expect(again.status).toBe(200); // cancelling a cancelled generation is idempotent
      const image = await api('GET', `/users/${alice.login}/appliances/${bigAid}/images/${itid}`, undefined, json());
      expect(image.body).toMatchObject({ imageCreated: false });
      expect(image.body.downloadKey).toBeUndefined();
    } finally {
      await disarm();
    }
  }, 180_000);

  it('refuses an unknown target format (listing the known ones) and an appliance without an OS profile', async () => {
    const unknown = await api(
      'POST',
      `/users/${alice.login}/appliances/${aid}/images`,
      `<ns0:image xmlns:ns0="${NS}"><targetFormat><name>Amiga</name></targetFormat></ns0:image>`,
      xml(),
    );
    expect(unknown.status).toBe(400);
    expect(readXml(unknown.body)[1].localizedErrorMsg.message).toMatch(/unknown target format "Amiga".*Raw/);
    const bare = await makeAppliance(alice, machine.machine.id, { os: false, name: 'bare' });
    const noOs = await api('POST', `/users/${alice.login}/appliances/${bare}/images`, { targetFormat: { name: 'Raw' } }, json());
    expect(noOs.status).toBe(400);
    expect(noOs.body.localizedErrorMsg.message).toMatch(/OS profile/);
    const { machine: runningMachine } = await makeMachine(alice.login, { size: 4096, state: 'running' });
    const onRunning = await makeAppliance(alice, runningMachine.id, { name: 'hot' });
    const busy = await api('POST', `/users/${alice.login}/appliances/${onRunning}/images`, { targetFormat: { name: 'Raw' } }, json());
    expect(busy.status).toBe(409);
    const notMine = await api('POST', `/users/${alice.login}/appliances`, applianceXml('00000000-0000-4000-8000-000000000000'), xml());
    expect(notMine.status).toBe(400);
  }, 60_000);

  it("refuses another user's appliance: 403 on its path, 404 on one's own", async () => {
    const asBob = await api('GET', `/users/${alice.login}/appliances/${aid}`, undefined, { ...json(), as: bob.login });
    expect(asBob.status).toBe(403);
    expect(asBob.body).toMatchObject({ statusCode: 403 });
    for (const [method, path] of [
      ['GET', `/users/${bob.login}/appliances/${aid}`],
      ['POST', `/users/${bob.login}/appliances/${aid}/images`],
      ['GET', `/users/my/appliances/${aid}/images`],
      ['DELETE', `/users/${bob.login}/appliances/${aid}`],
    ] as const) {
      const res = await api(method, path, method === 'POST' ? { targetFormat: { name: 'Raw' } } : undefined, { ...json(), as: bob.login });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    const bobs = await makeMachine(bob.login, { size: 4096 });
    const onAlices = await api('POST', `/users/${bob.login}/appliances`, applianceXml(machine.machine.id), { ...xml(), as: bob.login });
    expect(onAlices.status).toBe(400); // an appliance on someone else's machine
    expect((await api('POST', `/users/${bob.login}/appliances`, applianceXml(bobs.machine.id), { ...xml(), as: bob.login })).status).toBe(
      201,
    );
  }, 60_000);

  it('refuses hostile and malformed bodies with a 4xx uforgeError', async () => {
    const path = `/users/${alice.login}/appliances/${aid}/images`;
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
      '<image><targetFormat><name>&lol3;</name></targetFormat></image>';
    const bodies: [string, string, string][] = [
      ['billion laughs', laughs, 'application/xml'],
      [
        'external entity',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><image><targetFormat><name>&xxe;</name></targetFormat></image>',
        'application/xml',
      ],
      ['parameter entity', '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><image/>', 'text/xml'],
      ['undeclared entity', '<image><targetFormat><name>&xxe;</name></targetFormat></image>', 'application/xml'],
      ['malformed', '<image><targetFormat><name>Raw</targetFormat></image>', 'application/xml'],
      ['two roots', '<image/><image/>', 'application/xml'],
      ['wrong root', '<appliance><name>x</name></appliance>', 'application/xml'],
      ['wrong type (boolean)', '<image><compress>maybe</compress><targetFormat><name>Raw</name></targetFormat></image>', 'application/xml'],
      [
        'wrong type (integer)',
        '<image><targetFormat><name>Raw</name></targetFormat><installProfile><memorySize>lots</memorySize></installProfile></image>',
        'application/xml',
      ],
      ['repeated element', '<image><targetFormat><name>Raw</name><name>KVM</name></targetFormat></image>', 'application/xml'],
      ['no target format', '<image><compress>true</compress></image>', 'application/xml'],
      ['bad JSON', '{"targetFormat":', 'application/json'],
      ['JSON wrong type', '{"targetFormat":{"name":5},"compress":"yes"}', 'application/json'],
      ['other media type', 'targetFormat=Raw', 'text/plain'],
      ['reference to NUL', '<image><targetFormat><name>Raw&#0;</name></targetFormat></image>', 'application/xml'],
      ['reference to ESC', '<image><targetFormat><name>&#x1b;[31mRaw</name></targetFormat></image>', 'application/xml'],
      ['reference to a surrogate', '<image><targetFormat><name>&#xD800;</name></targetFormat></image>', 'application/xml'],
      ['HTML entity', '<image><targetFormat><name>Raw&nbsp;</name></targetFormat></image>', 'application/xml'],
    ];
    for (const [name, body, type] of bodies) {
      const res = await api('POST', path, body, { headers: { 'content-type': type, accept: 'application/xml' } });
      expect([name, res.status >= 400 && res.status < 500]).toEqual([name, true]);
      expect([name, readXml(res.body)[0]]).toEqual([name, 'uforgeError']);
    }
    // character references are decoded as XML defines them (here to "Raw"), and decoded control characters
    // meet the control-character rule as literal ones do, or are not XML characters at all
    const decoded = await api('POST', path, '<image><targetFormat><name>&#x52;&#97;w</name></targetFormat></image>', xml());
    expect(decoded.status).toBe(201);
    expect(readXml(decoded.body)[1].targetFormat.name).toBe('Raw');
    for (const text of ['a&#9;b', '&#x1b;[31mred', 'x&#0;']) {
      const described = await api(
        'PUT',
        `/users/${alice.login}/appliances/${aid}`,
        `<appliance><description>${text}</description></appliance>`,
        xml(),
      );
      expect([text, described.status, readXml(described.body)[0]]).toEqual([text, 400, 'uforgeError']);
    }
    const appliance = await api('GET', `/users/${alice.login}/appliances/${aid}`, undefined, json());
    expect(appliance.body.description).not.toMatch(/&#/);
    expect([...appliance.body.description].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
    const huge = `<image><targetFormat><name>Raw</name></targetFormat><x>${'a'.repeat(70 * 1024)}</x></image>`;
    expect((await api('POST', path, huge, xml())).status).toBe(413);
  }, 60_000);
});
