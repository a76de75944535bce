/**
 * The web console's size on first load: the entry script and the modules it preloads (what a browser
 * must fetch before the sign-in page works), gzipped, against the budget of 150 KB — plus the CSS and
 * HTML beside it. Builds console/ first when its build is stale (local/console.ts).
 */
import { CONSOLE_JS_BUDGET_BYTES, consoleFirstLoad, ensureConsoleBuilt } from '../local/console';
import type { BenchRow } from './pipeline';

const kib = (n: number) => Math.round((n / 1024) * 10) / 10;

export async function run(): Promise<BenchRow[]> {
  ensureConsoleBuilt((line) => console.error(line));
  const load = consoleFirstLoad();
  return [
    {
      bench: 'console',
      case: `first-load JavaScript, gzipped (${load.scripts.length} file${load.scripts.length === 1 ? '' : 's'}; ${kib(load.jsRaw)} KiB raw)`,
      figure: kib(load.jsGzip),
      unit: 'KiB',
      reference: 'budget 150 KB',
      referenceFigure: kib(CONSOLE_JS_BUDGET_BYTES),
    },
    { bench: 'console', case: 'first-load CSS + HTML, gzipped', figure: kib(load.cssGzip + load.htmlGzip), unit: 'KiB' },
  ];
}
