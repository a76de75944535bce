/**
 * Read meters on the local DynamoDB (local/dynamo.ts): how many items the service's reads evaluated,
 * counted on the wire from DynamoDB's own answers — a Query's or Scan's `ScannedCount` (items read
 * before the FilterExpression, which is what a read costs), a GetItem's item, a BatchGetItem's
 * responses. Tests use it to prove a request reads a bounded number of items; service code never
 * knows. A meter counts only requests whose body contains its `bodyIncludes` (e.g. an account's
 * partition key), so test files running at once do not see each other's reads.
 *
 *   PUT    <dynamodb endpoint>/--meters/<name>   body: {"bodyIncludes": "...", "operations": ["Query"]}  → starts (or resets) it
 *   GET    <dynamodb endpoint>/--meters/<name>   → {"requests": n, "items": n}
 *   DELETE <dynamodb endpoint>/--meters/<name>
 *
 * (`/--meters` is not DynamoDB's `POST /`.) With no meter set, requests pass untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replayRequest } from './replay';

interface Meter {
  bodyIncludes: string;
  operations?: string[];
  requests: number;
  items: number;
}

const READS = new Set(['Query', 'Scan', 'GetItem', 'BatchGetItem']);
const meters = new Map<string, Meter>();

/** Items a read's answer says it evaluated. */
export function itemsRead(operation: string, answer: Record<string, unknown>): number {
  if (operation === 'Query' || operation === 'Scan') return Number(answer.ScannedCount ?? 0);
  if (operation === 'GetItem') return answer.Item ? 1 : 0;
  if (operation === 'BatchGetItem')
    return Object.values((answer.Responses ?? {}) as Record<string, unknown[]>).reduce((n, items) => n + items.length, 0);
  return 0;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function control(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name = decodeURIComponent((req.url ?? '').slice('/--meters/'.length).split('?')[0]);
  const send = (status: number, payload: unknown) => {
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const body = await readAll(req);
  if (!name) return send(400, { message: 'a meter name is required: /--meters/<name>' });
  if (req.method === 'PUT') {
    try {
      const spec = JSON.parse(body.toString('utf8')) as { bodyIncludes?: unknown; operations?: unknown };
      if (typeof spec.bodyIncludes !== 'string' || !spec.bodyIncludes) throw new Error('bodyIncludes (a non-empty string) is required');
      const operations = Array.isArray(spec.operations) ? spec.operations.map(String) : undefined;
      meters.set(name, { bodyIncludes: spec.bodyIncludes, operations, requests: 0, items: 0 });
      return send(200, { requests: 0, items: 0 });
    } catch (err) {
      return send(400, { message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (req.method === 'DELETE') {
    meters.delete(name);
    return send(200, {});
  }
  const meter = meters.get(name);
  if (!meter) return send(404, { message: `no meter ${name}` });
  return send(200, { requests: meter.requests, items: meter.items });
}

/** Wraps the DynamoDB request listener: serves `/--meters/…`, and counts reads while meters are set. */
export function withReadMeters(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if ((req.url ?? '').startsWith('/--meters/')) {
      void control(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (meters.size === 0 || !READS.has(operation)) return listener(req, res);
    void (async () => {
      const body = await readAll(req);
      const text = body.toString('utf8');
      const matching = [...meters.values()].filter(
        (m) => text.includes(m.bodyIncludes) && (!m.operations || m.operations.includes(operation)),
      );
      if (matching.length) {
        const chunks: Buffer[] = [];
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        const keep = (chunk: unknown, encoding?: unknown) => {
          if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
          chunks.push(
            typeof chunk === 'string'
              ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
              : Buffer.from(chunk as Uint8Array),
          );
        };
        (res as unknown as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
          keep(chunk, rest[0]);
          return write(chunk, ...rest);
        };
        (res as unknown as { end: unknown }).end = (chunk?: unknown, ...rest: unknown[]) => {
          keep(chunk, rest[0]);
          if (res.statusCode === 200) {
            try {
              const n = itemsRead(operation, JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
              for (const m of matching) {
                m.requests++;
                m.items += n;
              }
            } catch {
              // not JSON: nothing was read
            }
          }
          return end(chunk, ...rest);
        };
      }
      listener(replayRequest(req, body), res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
