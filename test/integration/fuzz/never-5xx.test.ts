/**
 * Bad input never yields a 5xx: every route of the route table (so new routes are covered without
 * touching this file) receives seeded random bodies — malformed JSON, wrong types for the fields the
 * dialects know, deep nesting, huge and odd strings — and random query strings and path values, from
 * an authenticated caller. Each answer must be below 500 and, when it is an error, in a JSON shape.
 * The seed is printed on failure; FUZZ_SEED and FUZZ_RUNS reproduce or widen a run.
 */
import { routes, type Route } from '../../../lambdas/routes';
import { api } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';
import { mulberry32 } from '../../helpers/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);

const FIELDS = [
  'machine',
  'name',
  'version',
  'description',
  'homepage',
  'eula',
  'acl',
  'tags',
  'compression',
  'action',
  'manta_path',
  'instance_id',
  'image_url',
  'min_disk',
  'min_ram',
  'max_ram',
  'os_version',
  'data_images',
  'volume_id',
  'type',
  'image_tags',
  'bucket_url',
  'file_format',
  'package',
  'image',
  'op',
  'path',
  'value',
  'state',
  'public',
];
const STRINGS = [
  '',
  ' ',
  'a'.repeat(5000),
  '\u0000',
  '<script>',
  '../../etc/passwd',
  'bucket:',
  ':key',
  '💥',
  '%00',
  'null',
  '1e309',
  '-1',
  '00000000-0000-0000-0000-000000000000',
  'not-a-uuid',
];

function value(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * 10);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1, 1e308, -0, 2 ** 53 + 1, 3.5, 40, 2048][Math.floor(r() * 8)];
    case 3:
    case 4:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 5:
      return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    case 6:
      return depth > 3 ? {} : object(r, depth + 1);
    default:
      return `s${Math.floor(r() * 1e6)}`;
  }
}

function object(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) o[r() < 0.8 ? FIELDS[Math.floor(r() * FIELDS.length)] : `x${Math.floor(r() * 100)}`] = value(r, depth);
  return o;
}

function body(r: () => number): string {
  const kind = Math.floor(r() * 6);
  if (kind === 0) return '{"name": ';
  if (kind === 1) return JSON.stringify(value(r, 0));
  if (kind === 2) return JSON.stringify([object(r, 0)]);
  if (kind === 3) return '{'.repeat(200) + '}'.repeat(200);
  return JSON.stringify(object(r, 0));
}

function query(r: () => number): string {
  const keys = [
    'limit',
    'marker',
    'state',
    'name',
    'os',
    'type',
    'public',
    'owner',
    'tag.role',
    'action',
    'offset',
    '__imagetype',
    'status',
    'sort_key',
    'sort_dir',
    'min_disk',
  ];
  const n = Math.floor(r() * 4);
  const parts = Array.from(
    { length: n },
    () => `${encodeURIComponent(keys[Math.floor(r() * keys.length)])}=${encodeURIComponent(String(value(r, 3)))}`,
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

const XML_FIELDS = [
  'image',
  'appliance',
  'name',
  'version',
  'machineId',
  'compress',
  'targetFormat',
  'format',
  'installProfile',
  'memorySize',
  'diskSize',
  'osProfile',
  'arch',
  'description',
  'x',
  '__proto__',
  'constructor',
  'toString',
];
const XML_TEXT = [
  '',
  'true',
  'Raw',
  '-1',
  '1e400',
  '99999999999999999999',
  'NaN',
  '../../x',
  '%2e%2e%2f',
  '&amp;&lt;',
  '&#x41;',
  '&#x1b;[31m',
  '&#0;',
  '<![CDATA[<!DOCTYPE]]>',
  'a'.repeat(3000),
  '💥',
];
/** Hostile XML documents: DTDs and entities, processing instructions, XInclude, broken and wide trees. */
const XML_FIXED = [
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><image>&a;</image>',
  '<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><image/>',
  '<?xml-stylesheet href="http://127.0.0.1/x.xsl"?><image/>',
  '<image xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></image>',
  '<image>&unknown;</image>',
  '<image/><image/>',
  `<image>${'<a>'.repeat(3000)}${'</a>'.repeat(3000)}</image>`,
  `<image>${'<x/>'.repeat(8000)}</image>`,
  `<image a="${'x'.repeat(60000)}"/>`,
  '\ufeff<image/>',
  '<',
  '',
];

function xmlElement(r: () => number, depth: number): string {
  const name = XML_FIELDS[Math.floor(r() * XML_FIELDS.length)];
  const n = depth > 3 ? 0 : Math.floor(r() * 4);
  const inner = n === 0 ? XML_TEXT[Math.floor(r() * XML_TEXT.length)] : Array.from({ length: n }, () => xmlElement(r, depth + 1)).join('');
  return `<${name}>${inner}</${name}>`;
}

function xmlBody(r: () => number): string {
  if (r() < 0.3) return XML_FIXED[Math.floor(r() * XML_FIXED.length)];
  const root = r() < 0.5 ? 'image' : 'appliance';
  return `<ns0:${root} xmlns:ns0="http://www.usharesoft.com/uforge">${Array.from({ length: Math.floor(r() * 5) }, () => xmlElement(r, 1)).join('')}</ns0:${root}>`;
}

const CONTENT_TYPES = [
  'application/xml',
  'text/xml',
  'application/xml; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/json',
  'text/plain',
  '',
];

describe('never a 5xx for bad input', () => {
  let login: string;
  let accountId: string;
  let ids: string[];

  beforeAll(async () => {
    const account = await makeAccount('fuzz');
    login = account.login;
    accountId = account.id;
    const { machine } = await makeMachine(login, { size: 64 * 1024 });
    const appliance = await api(
      'POST',
      `/users/${login}/appliances`,
      { name: 'fuzz', version: '1', machineId: machine.id, osProfile: { name: 'CentOS', version: '7', arch: 'x86_64' } },
      { as: login, headers: { accept: 'application/json' } },
    );
    expect(appliance.status).toBe(201);
    ids = [
      machine.id,
      String(appliance.body.uri).split('/').pop()!,
      '00000000-0000-4000-8000-000000000000',
      'zzz',
      '%E2%80%AE',
      'a'.repeat(300),
    ];
  }, 60_000);

  const fill = (route: Route, r: () => number) =>
    route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      if (name === 'login' || name === 'uid') return login;
      if (name === 'project_id') return accountId;
      return ids[Math.floor(r() * ids.length)];
    });

  it.each(routes.filter((r) => r.auth !== 'none').map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s',
    async (_name, route) => {
      const r = mulberry32(SEED ^ route.operation.split('').reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
      for (let i = 0; i < RUNS; i++) {
        const path = fill(route, r) + query(r);
        const sent = ['POST', 'PUT', 'PATCH'].includes(route.method) ? body(r) : undefined;
        const res = await api(route.method, path, sent, {
          as: login,
          headers: sent !== undefined ? { 'content-type': 'application/json' } : {},
        });
        if (res.status >= 500)
          throw new Error(`seed ${SEED}: ${route.method} ${path} ${sent ?? ''} → ${res.status} ${JSON.stringify(res.body)}`);
        // UForge answers in XML unless the client asks for JSON (Accept): its uforgeError either way
        if (res.status >= 400 && route.dialect === 'uforge' && typeof res.body === 'string')
          expect(res.body).toMatch(/<(\w+:)?uforgeError[\s>]/);
        else if (res.status >= 400) expect(typeof res.body).toBe('object');
      }
    },
    60_000,
  );

  // UForge reads XML: hostile and random documents under every Content-Type its clients send
  it.each(
    routes
      .filter((r) => r.dialect === 'uforge' && ['POST', 'PUT'].includes(r.method))
      .map((r) => [`${r.method} ${r.path} (XML)`, r] as const),
  )(
    '%s',
    async (_name, route) => {
      const r = mulberry32(SEED ^ 0x5eed ^ route.operation.split('').reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
      for (let i = 0; i < RUNS; i++) {
        const path = fill(route, r);
        const sent = xmlBody(r);
        const contentType = CONTENT_TYPES[Math.floor(r() * CONTENT_TYPES.length)];
        const res = await api(route.method, path, sent, { as: login, headers: contentType ? { 'content-type': contentType } : {} });
        if (res.status >= 500)
          throw new Error(
            `seed ${SEED}: ${route.method} ${path} [${contentType}] ${sent.slice(0, 200)} → ${res.status} ${JSON.stringify(res.body)}`,
          );
        // the gateway's own answers (no such route for an odd path value) are its JSON; the dialect's are uforgeError XML
        if (res.status >= 400 && typeof res.body === 'string') expect(res.body).toMatch(/<(\w+:)?uforgeError[\s>]/);
        else if (res.status >= 400) expect(typeof res.body).toBe('object');
      }
    },
    60_000,
  );
});
