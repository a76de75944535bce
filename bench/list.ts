/**
 * List cost at scale: with 1,000 and then 100,000 images of one account in the table (loaded with
 * BatchWriteItem through the repository's item shape), p50/p95 latency over HTTP of
 * `GET /{login}/images` first page, a filtered page, and the 10th page. The ratio large/small must
 * stay near 1 (Query on keys, not Scan). And a filter matching 1 image (`os=plan9`, the same image at
 * both sizes): every request of the walk to it and past it, following markers — each request reads at
 * most its read budget (docs/decisions/listing-cost.md), so its p95 at 100,000 images must stay
 * within 1.2× of the same filter at 1,000; the most items one request read is counted by the local
 * DynamoDB's read meter (local/read-meter.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../local/stack';
import { adminOps } from '../local/admin-ops';
import { toImageItem } from '../lambdas/adapters/dynamodb/image-repository';
import type { Image } from '../lambdas/core/image';
import { config, disposeClients, documentClient } from '../lambdas/wiring';
import type { BenchRow } from './pipeline';

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function load(owner: string, from: number, to: number, log: (s: string) => void) {
  const doc = documentClient();
  const base = Date.parse('2026-01-01T00:00:00Z');
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    let items = batch.map((Item) => ({ PutRequest: { Item } }));
    batch = [];
    while (items.length) {
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [config.tableName()]: items } }));
      items = (out.UnprocessedItems?.[config.tableName()] ?? []) as typeof items;
    }
  };
  for (let i = from; i < to; i++) {
    const at = new Date(base + i * 1000).toISOString();
    const image: Image = {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      owner,
      name: `img-${i}`,
      version: '1.0.0',
      acl: [],
      tags: {},
      requirements: {},
      os: i === 500 ? 'plan9' : i % 10 === 0 ? 'smartos' : 'linux',
      type: 'zvol',
      state: 'active',
      public: false,
      published_at: at,
      created_at: at,
      updated_at: at,
      files: [],
      rev: 1,
    };
    batch.push(toImageItem(image));
    if (batch.length === 25) await flush();
    if ((i + 1) % 10_000 === 0) log(`[list] loaded ${i + 1} images`);
  }
  if (batch.length) await flush();
}

export async function run(opts: { quick?: boolean; samples?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const sizes = opts.quick ? [1_000, 10_000] : [1_000, 100_000];
  const samples = opts.samples ?? (opts.quick ? 20 : 50);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-list-'));
  const stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data') });
  const rows: BenchRow[] = [];
  try {
    const login = `list${Date.now().toString(36)}`;
    const account = await adminOps.createAccount(login);
    const ops = adminOps as unknown as { setPassword?: (l: string, p: string) => Promise<unknown> };
    const headers: Record<string, string> = {};
    if (ops.setPassword) {
      await ops.setPassword(login, 'bench-password-1');
      headers.authorization = `Basic ${Buffer.from(`${login}:bench-password-1`).toString('base64')}`;
    }
    const get = async (q: string) => {
      const t = performance.now();
      const res = await fetch(`${stack.url}/${login}/images${q}`, { headers });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`list answered ${res.status}: ${body}`);
      return { ms: performance.now() - t, next: res.headers.get('x-next-marker') ?? undefined };
    };
    const measure = async (label: string, fn: () => Promise<number>) => {
      const xs: number[] = [];
      for (let i = 0; i < samples; i++) xs.push(await fn());
      return { label, p50: percentile(xs, 50), p95: percentile(xs, 95) };
    };
    const results: Record<number, { label: string; p50: number; p95: number }[]> = {};
    const reads: Record<number, number> = {};
    let loaded = 0;
    for (const size of sizes) {
      await load(account.id, loaded, size, log);
      loaded = size;
      const first = await measure('first page (limit 100)', async () => (await get('?limit=100')).ms);
      const filtered = await measure('filtered page (os=smartos, limit 100)', async () => (await get('?os=smartos&limit=100')).ms);
      const tenth = await measure('10th page (limit 100)', async () => {
        let marker: string | undefined;
        for (let p = 0; p < 9; p++) marker = (await get(`?limit=100${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`)).next;
        return (await get(`?limit=100&marker=${encodeURIComponent(marker ?? '')}`)).ms;
      });
      // the sparse filter: walk every page (following markers) to the end, timing each request
      const meter = `${stack.endpoints.dynamodb}/--meters/list-bench`;
      await fetch(meter, { method: 'PUT', body: JSON.stringify({ bodyIncludes: `OWNER#${account.id}#IMAGES`, operations: ['Query'] }) });
      const sparseTimes: number[] = [];
      let mostRead = 0;
      let found = 0;
      for (let walk = 0; sparseTimes.length < samples || walk === 0; walk++) {
        let marker: string | undefined;
        do {
          const t = performance.now();
          const res = await fetch(
            `${stack.url}/${login}/images?os=plan9&limit=100${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
            { headers },
          );
          const body = (await res.json()) as unknown[];
          sparseTimes.push(performance.now() - t);
          if (walk === 0) found += body.length;
          marker = res.headers.get('x-next-marker') ?? undefined;
          const read = (await (await fetch(meter)).json()) as { items: number };
          mostRead = Math.max(mostRead, read.items);
          await fetch(meter, {
            method: 'PUT',
            body: JSON.stringify({ bodyIncludes: `OWNER#${account.id}#IMAGES`, operations: ['Query'] }),
          });
        } while (marker);
        if (walk === 0)
          log(
            `[list] ${size} images, os=plan9: ${found} found in ${sparseTimes.length} requests, at most ${mostRead} items read per request`,
          );
      }
      if (found !== 1) throw new Error(`os=plan9 should match 1 image, the walk found ${found}`);
      const sparse = {
        label: 'filter matching 1 image (os=plan9, limit 100), per request',
        p50: percentile(sparseTimes, 50),
        p95: percentile(sparseTimes, 95),
      };
      reads[size] = mostRead;
      results[size] = [first, filtered, tenth, sparse];
      for (const r of results[size]) log(`[list] ${size} images, ${r.label}: p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms`);
    }
    const [small, large] = sizes;
    results[large].forEach((r, i) => {
      const s = results[small][i];
      rows.push({
        bench: 'list',
        case: `${r.label}, ${large} images, p50`,
        figure: Math.round(r.p50 * 10) / 10,
        unit: 'ms',
        reference: `${small} images`,
        referenceFigure: Math.round(s.p50 * 10) / 10,
      });
      rows.push({
        bench: 'list',
        case: `${r.label}, ${large} images, p95`,
        figure: Math.round(r.p95 * 10) / 10,
        unit: 'ms',
        reference: `${small} images`,
        referenceFigure: Math.round(s.p95 * 10) / 10,
      });
    });
    rows.push({
      bench: 'list',
      case: `filter matching 1 image, most items read by one request, ${large} images`,
      figure: reads[large],
      unit: 'items',
      reference: `${small} images`,
      referenceFigure: reads[small],
    });
  } finally {
    disposeClients();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
