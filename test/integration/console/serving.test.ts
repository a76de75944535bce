/**
 * What the web console needs from the local stack, over real HTTP: the built console at /console/ on
 * the API's origin with its security headers (the same policy CloudFront sends, lib/console-policy.ts),
 * no path escaping console/dist, and the image file's presigned URL as JSON (`?redirect=false`), which
 * a browser's fetch can read where it cannot read a redirect.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { CONSOLE_CSP } from '../../../lib/console-policy';
import { CONSOLE_JS_BUDGET_BYTES, consoleFirstLoad } from '../../../local/console';
import { api, BASE, poll } from '../../helpers/local-stack';
import { makeAccount, makeMachine } from '../../helpers/fixtures';

/** A GET with the path sent exactly as written (fetch would resolve `%2e%2e` segments first). */
const rawGet = (rawPath: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(BASE);
    const req = request({ host: url.hostname, port: url.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('web console serving', () => {
  it('serves index.html and hashed assets under /console/ with the CSP and security headers', async () => {
    const index = await fetch(`${BASE}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /<script type="module" crossorigin src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script: the CSP would block it

    const js = await fetch(`${BASE}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');

    const bare = await fetch(`${BASE}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
  });

  it('keeps the first-load JavaScript within its budget (150 KB gzipped), every file of it served', async () => {
    const load = consoleFirstLoad();
    expect(load.scripts.length).toBeGreaterThan(0);
    expect(load.jsGzip).toBeGreaterThan(1000); // a real bundle was measured
    expect(load.jsGzip).toBeLessThanOrEqual(CONSOLE_JS_BUDGET_BYTES);
    for (const url of [...load.scripts, ...load.styles]) expect((await fetch(`${BASE}${url}`)).status).toBe(200);
  });

  it('answers 404 for a missing file and never leaves console/dist', async () => {
    expect((await fetch(`${BASE}/console/assets/nope.js`)).status).toBe(404);
    // Encoded slashes reach the console server, which refuses anything outside console/dist.
    for (const p of ['/console/..%2f..%2fpackage.json', '/console/..%2F..%2Flocal%2Fmain.ts', '/console/%00', '/console/%E0%A4%A']) {
      const res = await rawGet(p);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('machine-image-service');
    }
    // Dot segments are resolved before routing (as URL parsing does): they leave /console altogether.
    for (const p of ['/console/%2e%2e/%2e%2e/package.json', '/console/../../package.json']) {
      const res = await rawGet(p);
      expect(res.status).toBe(401);
      expect(res.body).not.toContain('"workspaces"');
    }
    expect((await fetch(`${BASE}/console/`, { method: 'POST' })).status).toBe(405);
  });

  it('gives the image file URL as JSON with redirect=false; the URL downloads the file', async () => {
    const { login } = await makeAccount('dl');
    const { machine } = await makeMachine(login, { size: 1024 * 1024 });
    const created = await api('POST', `/${login}/images`, { machine: machine.id, name: 'dl', version: '1' });
    expect(created.status).toBe(201);
    const image = await poll(
      () => api('GET', `/${login}/images/${created.body.id}`),
      (r) => r.body?.state !== 'creating',
      { intervalMs: 250, attempts: 240 },
    );
    expect(image.body.state).toBe('active');

    const res = await api('GET', `/${login}/images/${created.body.id}/file?redirect=false`);
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBeGreaterThan(0);
    const file = await fetch(res.body.url);
    expect(file.status).toBe(200);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(image.body.files[0].sha1);

    expect((await api('GET', `/${login}/images/${created.body.id}/file`)).status).toBe(302);
  }, 90_000);
});
