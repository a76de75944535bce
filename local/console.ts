/**
 * The web console in the local stack: `npm start` builds `console/` when its build is missing or older
 * than its sources (a fresh clone builds once; nothing built is committed), and the local gateway
 * serves `console/dist` at /console/ on the API's own origin, with the deployed console's security
 * headers (lib/console-policy.ts). Hashed assets are cached for good; index.html never.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { CONSOLE_HEADERS, CONSOLE_PATH } from '../lib/console-policy';
import { REPO_ROOT } from '../lib/paths';

export const CONSOLE_DIR = path.join(REPO_ROOT, 'console');
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newestMtime(path.join(p, name))), st.mtimeMs);
}

/** Whether console/dist is missing or older than any source of the console. */
export function consoleBuildStale(): boolean {
  const index = path.join(CONSOLE_DIST, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json']
    .map((f) => path.join(CONSOLE_DIR, f))
    .filter(existsSync);
  return sources.some((s) => newestMtime(s) > built);
}

/** Builds the console when stale (`npm run build` in console/: type-check, then vite build). Throws when the build fails. */
export function ensureConsoleBuilt(log: (line: string) => void = console.log): 'fresh' | 'built' {
  if (!consoleBuildStale()) return 'fresh';
  log('building the web console (console/ → console/dist)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = spawnSync(npm, ['run', '--silent', 'build'], {
    cwd: CONSOLE_DIR,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (out.status !== 0)
    throw new Error(
      `the web console did not build (npm run build in console/ exited ${out.status ?? out.signal}):\n${out.stdout}${out.stderr}`,
    );
  return 'built';
}

export const isConsolePath = (pathname: string): boolean => pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);

/** Answers a GET/HEAD under /console from console/dist. */
export function serveConsole(req: IncomingMessage, res: ServerResponse, pathname: string): void {
  const headers = { ...CONSOLE_HEADERS };
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain' });
    return void res.end('method not allowed\n');
  }
  if (pathname === CONSOLE_PATH) {
    res.writeHead(301, { ...headers, location: `${CONSOLE_PATH}/` });
    return void res.end();
  }
  let rel: string;
  try {
    rel = decodeURIComponent(pathname.slice(CONSOLE_PATH.length + 1)) || 'index.html';
  } catch {
    rel = '\0';
  }
  const file = path.resolve(CONSOLE_DIST, rel);
  const inside = file.startsWith(CONSOLE_DIST + path.sep) && !rel.includes('\0');
  if (!inside || !existsSync(file) || !statSync(file).isFile()) {
    const missing = !existsSync(path.join(CONSOLE_DIST, 'index.html'));
    res.writeHead(missing ? 503 : 404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end(missing ? 'the web console is not built: run `npm run build -w console` (npm start builds it)\n' : 'not found\n');
  }
  const size = statSync(file).size;
  res.writeHead(200, {
    ...headers,
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': String(size),
    'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

/** What a browser fetches on the console's first load, from console/dist/index.html. */
export interface ConsoleFirstLoad {
  /** Entry script plus the modules it preloads, as URLs under /console/. */
  scripts: string[];
  styles: string[];
  /** Gzipped sizes (zlib level 9), bytes. */
  jsGzip: number;
  cssGzip: number;
  htmlGzip: number;
  jsRaw: number;
}

export function consoleFirstLoad(): ConsoleFirstLoad {
  const html = readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
  const attr = (re: RegExp) => [...html.matchAll(re)].map((m) => m[1]);
  const scripts = [...attr(/<script[^>]*\bsrc="([^"]+)"/g), ...attr(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)];
  const styles = attr(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g);
  const file = (url: string) => readFileSync(path.join(CONSOLE_DIST, url.replace(/^\/console\//, '')));
  const gz = (b: Buffer) => gzipSync(b, { level: 9 }).length;
  return {
    scripts,
    styles,
    jsGzip: scripts.reduce((n, u) => n + gz(file(u)), 0),
    jsRaw: scripts.reduce((n, u) => n + file(u).length, 0),
    cssGzip: styles.reduce((n, u) => n + gz(file(u)), 0),
    htmlGzip: gz(Buffer.from(html)),
  };
}

/** The console's first-load JavaScript budget, gzipped: 150 KB (docs/decisions/web-console.md). */
export const CONSOLE_JS_BUDGET_BYTES = 150_000;
