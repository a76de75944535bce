/**
 * Fault injection for the local S3 (tests only; never in service code): a plan of rules such as
 * "UploadPart of part 5 under images/<id>/ answers 500 InternalError, 3 times". The local S3 asks
 * the plan about every request before serving it; a matching rule answers with S3's error document
 * instead, or, with `bytesPerSecond`, serves the response body that slowly (slow storage). Tests set
 * the plan over HTTP on the local S3 endpoint itself:
 *
 *   PUT    <s3 endpoint>/__faults        body: [{ "op": "UploadPart", "prefix": "images/…/", "partNumber": 5, "times": 3 }]
 *   POST   <s3 endpoint>/__faults        body: [rules] → adds them to the plan; answers their ids
 *   GET    <s3 endpoint>/__faults        → the rules with their `hits`
 *   DELETE <s3 endpoint>/__faults        → clears the plan
 *   DELETE <s3 endpoint>/__faults/<id>   → removes one rule (test files running at once each remove their own)
 *
 * (`__faults` cannot be a bucket name, so the path never shadows an S3 operation.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type S3Operation =
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'Other';

export interface FaultRule {
  op: S3Operation;
  /** Object keys starting with this (default: any). */
  prefix?: string;
  bucket?: string;
  /** UploadPart only: this part number (default: any). */
  partNumber?: number;
  /** Requests whose Range header is exactly this, e.g. "bytes=67108864-83886079" (default: any). */
  range?: string;
  /** Let this many matching requests through first (default 0). */
  skip?: number;
  /** Matching requests that fail (after `skip`); default 1; -1 = every one. */
  times?: number;
  /** UploadPart/UploadPartCopy: parts numbered at least this (default: any). */
  minPartNumber?: number;
  /** Copies: the `x-amz-copy-source` (`bucket/key`, decoded, no leading slash) starts with this. */
  copySourcePrefix?: string;
  /** Instead of failing: serve the response body no faster than this (a slow GetObject). */
  bytesPerSecond?: number;
  /** Default 500 InternalError. */
  status?: number;
  code?: string;
}

interface ActiveRule extends FaultRule {
  id: string;
  seen: number;
  hits: number;
}

export const FAULTS_PATH = '/__faults';

export function s3Operation(method: string, key: string, query: URLSearchParams, headers: IncomingMessage['headers']): S3Operation {
  if (!key) return 'Other';
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (method === 'PUT' && query.has('uploadId') && query.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (method === 'PUT' && !query.has('uploadId')) return copy ? 'CopyObject' : 'PutObject';
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'GET' && !query.has('uploadId')) return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return 'Other';
}

let nextId = 1;
const copySourceOf = (headers: IncomingMessage['headers']): string => {
  const raw = String(headers['x-amz-copy-source'] ?? '');
  try {
    return decodeURIComponent(raw).replace(/^\//, '');
  } catch {
    return raw;
  }
};

export class FaultPlan {
  private rules: ActiveRule[] = [];

  set(rules: FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r, id: String(nextId++), seen: 0, hits: 0 }));
  }

  add(rules: FaultRule[]): ActiveRule[] {
    const added = rules.map((r) => ({ ...r, id: String(nextId++), seen: 0, hits: 0 }));
    this.rules.push(...added);
    return added;
  }

  /** Whether the request was answered with a fault (its body is drained). */
  intercept(req: IncomingMessage, res: ServerResponse, at: { bucket: string; key: string; query: URLSearchParams }): boolean {
    if (this.rules.length === 0) return false;
    const op = s3Operation(req.method ?? 'GET', at.key, at.query, req.headers);
    const part = Number(at.query.get('partNumber'));
    const rule = this.rules.find(
      (r) =>
        r.op === op &&
        (r.bucket === undefined || r.bucket === at.bucket) &&
        (r.prefix === undefined || at.key.startsWith(r.prefix)) &&
        (r.partNumber === undefined || r.partNumber === part) &&
        (r.minPartNumber === undefined || part >= r.minPartNumber) &&
        (r.copySourcePrefix === undefined || copySourceOf(req.headers).startsWith(r.copySourcePrefix)) &&
        (r.range === undefined || r.range === req.headers.range),
    );
    if (!rule) return false;
    rule.seen++;
    const times = rule.times ?? 1;
    if (rule.seen <= (rule.skip ?? 0) || (times >= 0 && rule.hits >= times)) return false;
    rule.hits++;
    if (rule.bytesPerSecond) {
      throttle(res, rule.bytesPerSecond);
      return false;
    }
    req.resume();
    const code = rule.code ?? 'InternalError';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault (local/faults.ts)</Message></Error>`;
    res.writeHead(rule.status ?? 500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  }

  /** Serves the control path; false when the request is not for it. */
  async control(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname !== FAULTS_PATH && !pathname.startsWith(`${FAULTS_PATH}/`)) return false;
    const id = pathname.slice(FAULTS_PATH.length + 1);
    const send = (status: number, payload: unknown) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (id) {
      req.resume();
      if (req.method !== 'DELETE') {
        send(405, { message: 'DELETE a rule by id' });
        return true;
      }
      this.rules = this.rules.filter((r) => r.id !== id);
      send(200, this.rules);
    } else if (req.method === 'PUT' || req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        const rules = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FaultRule[];
        if (!Array.isArray(rules)) throw new Error('a JSON array of rules is required');
        if (req.method === 'POST') {
          send(200, this.add(rules));
          return true;
        }
        this.set(rules);
      } catch (err) {
        send(400, { message: err instanceof Error ? err.message : String(err) });
        return true;
      }
      send(200, this.rules);
    } else if (req.method === 'DELETE') {
      this.set([]);
      send(200, []);
    } else {
      send(200, this.rules);
    }
    return true;
  }
}

/**
 * Makes `res` send its body no faster than `bytesPerSecond`, whatever the server writes at once (a
 * whole object in one `write` or `end` included): bytes are queued and sent in slices of a tenth of a
 * second's worth; `write` returns false until the queue is empty, then 'drain' is emitted, so a pipe()
 * into `res` waits as it would on a slow network.
 */
function throttle(res: ServerResponse, bytesPerSecond: number): void {
  type Cb = (err?: Error | null) => void;
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  const end = res.end.bind(res) as (cb?: () => void) => ServerResponse;
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  const queue: Buffer[] = [];
  let pumping = false;
  let finish: (() => void) | undefined;
  const toBuffer = (chunk: unknown, encoding?: unknown) =>
    typeof chunk === 'string'
      ? Buffer.from(chunk, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding)
      : Buffer.from(chunk as Uint8Array);
  const pump = (): void => {
    const head = queue[0];
    if (!head) {
      pumping = false;
      if (finish) finish();
      else res.emit('drain');
      return;
    }
    pumping = true;
    const piece = head.subarray(0, slice);
    if (piece.length === head.length) queue.shift();
    else queue[0] = head.subarray(piece.length);
    if (!res.destroyed) write(piece);
    setTimeout(pump, Math.ceil((piece.length / bytesPerSecond) * 1000));
  };
  (res as unknown as { write: unknown }).write = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    queue.push(toBuffer(chunk, encoding));
    const callback = (typeof encoding === 'function' ? encoding : cb) as Cb | undefined;
    if (callback) setImmediate(() => callback());
    if (!pumping) pump();
    return false;
  };
  (res as unknown as { end: unknown }).end = (chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse => {
    const callback = [chunk, encoding, cb].find((a) => typeof a === 'function') as (() => void) | undefined;
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') queue.push(toBuffer(chunk, encoding));
    finish = () => {
      finish = undefined;
      end(callback);
    };
    if (!pumping) pump();
    return res;
  };
}
