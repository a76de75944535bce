#!/usr/bin/env node
/**
 * Runs a TypeScript entry point without ts-node: `node scripts/run-ts.mjs <entry.ts> [args…]`.
 *
 * The entry is bundled with esbuild (CommonJS, node20, inline source maps) into
 * `.local/dist/<entry path, "/" → "_", no extension>.cjs` and then required in this same process, with
 * `process.argv` set to `[node, <entry>, ...args]` as if node had run the entry itself. Used by cdk.json
 * (`bin/app.ts`), `npm start` (`local/main.ts`) and the bench runner.
 *
 * - Every package listed in package.json (dependencies and devDependencies) stays external and is
 *   loaded from node_modules, except `@middy/*`: middy 7 is ESM-only (no `require` export), so it is
 *   bundled in and esbuild turns it into CommonJS.
 * - `__dirname` and `__filename` keep their meaning in project sources: each file that mentions them
 *   gets its own original values, so code that finds files relative to itself works the same bundled
 *   or not (otherwise every module would see `.local/dist`).
 */
import { build } from 'esbuild';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args…]');
  process.exit(2);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.resolve(entryArg);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
  .filter((name) => !name.startsWith('@middy/'))
  .flatMap((name) => [name, `${name}/*`]);

const relativeEntry = path.relative(root, entry);
const outName = (relativeEntry.startsWith('..') ? entry : relativeEntry)
  .replace(/\.[cm]?[jt]sx?$/, '')
  .replace(/^[/\\]+/, '')
  .replace(/[/\\]/g, '_');
const outfile = path.join(root, '.local', 'dist', `${outName}.cjs`);
mkdirSync(path.dirname(outfile), { recursive: true });

/** Gives each project source that mentions `__dirname`/`__filename` its own values (line numbers unchanged). */
const keepModulePaths = {
  name: 'keep-module-paths',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?tsx?$/ }, (loadArgs) => {
      if (loadArgs.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = readFileSync(loadArgs.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      const prelude = `var __dirname = ${JSON.stringify(path.dirname(loadArgs.path))}, ` + `__filename = ${JSON.stringify(loadArgs.path)};`;
      const loader = loadArgs.path.endsWith('x') ? 'tsx' : 'ts';
      return { contents: prelude + source, loader };
    });
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  external,
  plugins: [keepModulePaths],
  logLevel: 'warning',
  absWorkingDir: root,
});

process.setSourceMapsEnabled?.(true);
process.argv = [process.argv[0], entry, ...args];
createRequire(import.meta.url)(outfile);
