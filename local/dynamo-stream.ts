/**
 * DynamoDB Streams for the local DynamoDB (dynalite has none; docs/local-emulation.md §1), and the
 * Lambda event source mappings that read them, as the template declares them (lib/local-template.ts).
 *
 * Capture: a hook in front of dynalite's request listener. For each item write (PutItem, UpdateItem,
 * DeleteItem, BatchWriteItem) it holds a lock on the items' keys, reads each item before (a consistent
 * GetItem straight to dynalite), lets the write through, and once it answered 200 reads each item again.
 * An item that changed becomes one record — INSERT, MODIFY or REMOVE with its keys, NEW_AND_OLD_IMAGES
 * and a growing sequence number — as DynamoDB writes no record for a write that changed nothing. The
 * per-key lock keeps the before/after reads of one item from interleaving with another write of it, so
 * one item's records are in write order, as in a DynamoDB stream shard.
 *
 * Delivery (`startStreamConsumers`): one shard, read in order. Records a mapping's filters do not pass
 * are dropped (as Lambda does); the rest are delivered in batches of at most `BatchSize` through the
 * local Lambda runtime (local/lambda.ts, so the function's timeout applies). A failed invocation is
 * retried with the same batch; with `ReportBatchItemFailures`, a response naming failures makes the
 * mapping retry from the lowest failed sequence number, the records before it being done. After
 * `MaximumRetryAttempts` the batch is dropped and logged (the deployed stack sends it to its on-failure
 * queue).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { invokeLocal, type LocalFunction } from './lambda';
import { matchesPattern } from './events';
import { replayRequest } from './replay';

type AttributeMap = Record<string, unknown>;

export interface StreamRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: '1.1';
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  eventSourceARN: string;
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: AttributeMap;
    NewImage?: AttributeMap;
    OldImage?: AttributeMap;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: 'NEW_AND_OLD_IMAGES';
  };
}

/** Where captured records go; buffered until consumers attach, so no write is missed. */
export class LocalStream {
  private readonly records: StreamRecord[] = [];
  private readonly listeners: ((r: StreamRecord) => void)[] = [];
  private sequence = 100_000_000_000_000_000_000n;

  constructor(readonly region: string) {}

  append(
    table: string,
    eventName: StreamRecord['eventName'],
    keys: AttributeMap,
    before: AttributeMap | undefined,
    after: AttributeMap | undefined,
  ): void {
    this.sequence += 1n;
    const record: StreamRecord = {
      eventID: randomUUID().replace(/-/g, ''),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      eventSourceARN: `arn:aws:dynamodb:${this.region}:000000000000:table/${table}/stream/local`,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: keys,
        ...(after && { NewImage: after }),
        ...(before && { OldImage: before }),
        SequenceNumber: this.sequence.toString(),
        SizeBytes: Buffer.byteLength(JSON.stringify({ keys, before, after })),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    if (this.listeners.length === 0) this.records.push(record);
    for (const l of this.listeners) l(record);
  }

  subscribe(listener: (r: StreamRecord) => void): void {
    this.listeners.push(listener);
    for (const r of this.records.splice(0)) listener(r);
  }
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Locks on item keys, taken in one sorted order so batch writes cannot deadlock. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(keys: string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const key of [...new Set(keys)].sort()) {
      const previous = this.tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = previous.then(() => mine);
      this.tails.set(key, tail);
      await previous;
      releases.push(() => {
        release();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    }
    return () => {
      for (const r of releases) r();
    };
  }
}

interface Target {
  table: string;
  key: AttributeMap;
}

/**
 * Wraps dynalite's request listener with stream capture. `keySchema(table)` names the table's key
 * attributes; `internalEndpoint()` is the server's own URL, for the before/after reads (sent with a
 * header that routes them straight to dynalite, past faults and capture).
 */
export function withStreamCapture(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  inner: (req: IncomingMessage, res: ServerResponse) => void,
  stream: LocalStream,
  internalEndpoint: () => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const locks = new KeyLocks();
  const schemas = new Map<string, Promise<string[]>>();
  const agent = new http.Agent({ keepAlive: true });
  const call = (target: string, body: unknown, headers: IncomingMessage['headers']): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = http.request(
        internalEndpoint(),
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': `DynamoDB_20120810.${target}`,
            authorization: headers.authorization ?? '',
            'x-amz-date': headers['x-amz-date'] ?? '',
            'x-local-stream-internal': '1',
            'content-length': Buffer.byteLength(text),
          },
        },
        (res) => {
          let out = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (out += d));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(out || '{}'))
              : reject(new Error(`local stream ${target}: ${res.statusCode} ${out}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(text);
    });

  const targetsOf = async (operation: string, body: Record<string, unknown>, headers: IncomingMessage['headers']): Promise<Target[]> => {
    const keySchema = (table: string) => {
      let names = schemas.get(table);
      if (!names) {
        names = call('DescribeTable', { TableName: table }, headers).then((out) =>
          ((out.Table as { KeySchema: { AttributeName: string }[] }).KeySchema ?? []).map((k) => k.AttributeName),
        );
        names.catch(() => schemas.delete(table));
        schemas.set(table, names);
      }
      return names;
    };
    const keyOf = async (table: string, item: AttributeMap) => {
      const names = await keySchema(table);
      return Object.fromEntries(names.filter((n) => item[n] !== undefined).map((n) => [n, item[n]]));
    };
    if (operation === 'BatchWriteItem') {
      const out: Target[] = [];
      for (const [table, requests] of Object.entries(
        (body.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]>,
      )) {
        for (const r of requests) {
          const item = r.PutRequest?.Item ?? r.DeleteRequest?.Key;
          if (item) out.push({ table, key: await keyOf(table, item) });
        }
      }
      return out;
    }
    const table = String(body.TableName ?? '');
    const item = (operation === 'PutItem' ? body.Item : body.Key) as AttributeMap | undefined;
    return item ? [{ table, key: await keyOf(table, item) }] : [];
  };

  return (req, res) => {
    if (req.headers['x-local-stream-internal'] === '1') return inner(req, res);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (req.method !== 'POST' || !WRITES.has(operation)) return listener(req, res);
    void (async () => {
      const text = await readAll(req);
      let targets: Target[] = [];
      try {
        targets = await targetsOf(operation, JSON.parse(text) as Record<string, unknown>, req.headers);
      } catch {
        targets = []; // a malformed request: dynalite answers it, nothing is written
      }
      const release = await locks.acquire(targets.map((t) => `${t.table}\u0000${JSON.stringify(t.key)}`));
      try {
        const get = async (t: Target) =>
          (await call('GetItem', { TableName: t.table, Key: t.key, ConsistentRead: true }, req.headers)).Item as AttributeMap | undefined;
        const before = await Promise.all(targets.map(get)).catch(() => undefined);
        const finished = new Promise<void>((resolve) => res.on('close', resolve));
        listener(replayRequest(req, text), res);
        await finished;
        if (res.statusCode !== 200 || !before) return;
        const after = await Promise.all(targets.map(get));
        targets.forEach((t, i) => {
          const [b, a] = [before[i], after[i]];
          if (JSON.stringify(b) === JSON.stringify(a)) return;
          stream.append(t.table, !b ? 'INSERT' : !a ? 'REMOVE' : 'MODIFY', t.key, b, a);
        });
      } finally {
        release();
      }
    })().catch((err) => {
      console.error('local DynamoDB stream capture failed:', err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}

export interface LocalStreamConsumer {
  name: string;
  fn: LocalFunction;
  filters: Record<string, unknown>[];
  batchSize: number;
  maximumRetryAttempts: number;
  reportBatchItemFailures: boolean;
}

export interface LocalStreamConsumers {
  isIdle(): boolean;
  waitForIdle(): Promise<void>;
  close(): void;
}

/** Feeds the stream's records to each consumer, in order, as the event source mapping does. */
export function startStreamConsumers(
  stream: LocalStream,
  consumers: LocalStreamConsumer[],
  options: { retryDelayMs?: number } = {},
): LocalStreamConsumers {
  const retryDelayMs = options.retryDelayMs ?? 200;
  const pumps = consumers.map((consumer) => {
    const queue: StreamRecord[] = [];
    let running: Promise<void> | undefined;
    let closed = false;
    const passes = (r: StreamRecord) =>
      consumer.filters.length === 0 || consumer.filters.some((f) => matchesPattern(f, r as unknown as Record<string, unknown>));
    const pump = async () => {
      let attempts = 0;
      while (queue.length && !closed) {
        const batch = queue.slice(0, consumer.batchSize);
        let done = 0;
        try {
          const out = (await invokeLocal(consumer.fn, { Records: batch })) as { batchItemFailures?: { itemIdentifier: string }[] } | null;
          const failed = consumer.reportBatchItemFailures ? (out?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : [];
          if (failed.length === 0) done = batch.length;
          else {
            const lowest = batch.findIndex((r) => failed.includes(r.dynamodb.SequenceNumber));
            // An identifier that names no record of the batch fails the whole batch, as Lambda treats it.
            done = Math.max(0, lowest);
            throw new Error(`batch item failures from ${failed[0]}`);
          }
        } catch (err) {
          queue.splice(0, done);
          attempts++;
          if (consumer.maximumRetryAttempts >= 0 && attempts > consumer.maximumRetryAttempts) {
            console.error(`local event source mapping ${consumer.name}: records dropped after ${attempts - 1} retries:`, err);
            queue.splice(0, Math.max(1, batch.length - done));
            attempts = 0;
          } else await new Promise((r) => setTimeout(r, retryDelayMs));
          continue;
        }
        queue.splice(0, done);
        attempts = 0;
      }
    };
    const kick = (): void => {
      if (running || closed) return;
      running = pump().finally(() => {
        running = undefined;
        if (queue.length) kick();
      });
    };
    stream.subscribe((r) => {
      if (!passes(r)) return;
      queue.push(r);
      kick();
    });
    return {
      idle: () => running === undefined && queue.length === 0,
      wait: async () => {
        while (running) await running;
      },
      close: () => (closed = true),
    };
  });
  return {
    isIdle: () => pumps.every((p) => p.idle()),
    waitForIdle: async () => {
      for (const p of pumps) await p.wait();
    },
    close: () => {
      for (const p of pumps) p.close();
    },
  };
}
