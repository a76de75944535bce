/**
 * (local/faults.ts is the S3-only plan the chunked-build tests use, at /__faults; this one covers S3 and DynamoDB.)
 * Fault injection at the protocol level for the local S3 (local/s3.ts) and DynamoDB (local/dynamo.ts)
 * servers: a test puts a plan of rules and the servers answer the matching requests as AWS does when
 * it fails — an S3 XML error with a 5xx status, a DynamoDB JSON error such as
 * ProvisionedThroughputExceededException — or slowly. Service code never knows: it sees only the wire.
 *
 * A rule matches by service, operation (S3: GetObject, HeadObject, PutObject, CopyObject, DeleteObject,
 * DeleteObjects, ListObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads; DynamoDB: its X-Amz-Target operation, e.g.
 * UpdateItem), and optionally bucket, key prefix (S3) or a substring of the request body (DynamoDB: an
 * item id). Of the matching requests, the `nth` (1-based, default 1) and the `times - 1` after it are
 * faulted (`times` 0 = every one from the nth on). `delayMs` alone makes them slow.
 *
 * The plan is per process (both servers run in the stack's process) and is driven over HTTP on either
 * server: `PUT /--faults` with `{"rules":[…]}` replaces it, `POST /--faults` with `{"rules":[…]}`
 * adds to it (the rules already there keep their counts), `DELETE /--faults` clears it,
 * `GET /--faults` returns each rule with `matched` and `fired` counts. `/--faults` is no bucket
 * (bucket names cannot start with '-') and not DynamoDB's `POST /`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replayRequest } from './replay';

export type FaultService = 's3' | 'dynamodb';

export interface FaultRule {
  service: FaultService;
  operation: string;
  bucket?: string;
  keyPrefix?: string;
  bodyIncludes?: string;
  nth?: number;
  times?: number;
  /** The error to answer; absent with `delayMs` = only slow. */
  error?: { status: number; code: string; message?: string };
  delayMs?: number;
}

interface RuleState extends FaultRule {
  matched: number;
  fired: number;
}

let rules: RuleState[] = [];

export function setFaultPlan(plan: FaultRule[]): void {
  rules = plan.map((r) => ({ ...r, matched: 0, fired: 0 }));
}

/** Adds rules to the plan; the rules already in it keep their counts. */
export function addFaultRules(plan: FaultRule[]): void {
  rules = [...rules, ...plan.map((r) => ({ ...r, matched: 0, fired: 0 }))];
}

export function faultPlan(): readonly RuleState[] {
  return rules;
}

export interface FaultRequest {
  operation: string;
  bucket?: string;
  key?: string;
  body?: string;
}

/** The fault to apply to this request, if a rule takes it (counting it either way). */
export function takeFault(service: FaultService, request: FaultRequest): Pick<FaultRule, 'error' | 'delayMs'> | undefined {
  for (const rule of rules) {
    if (rule.service !== service || rule.operation !== request.operation) continue;
    if (rule.bucket !== undefined && rule.bucket !== request.bucket) continue;
    if (rule.keyPrefix !== undefined && !(request.key ?? '').startsWith(rule.keyPrefix)) continue;
    if (rule.bodyIncludes !== undefined && !(request.body ?? '').includes(rule.bodyIncludes)) continue;
    rule.matched++;
    const nth = rule.nth ?? 1;
    const times = rule.times ?? 1;
    if (rule.matched < nth || (times > 0 && rule.matched >= nth + times)) continue;
    rule.fired++;
    return { error: rule.error, delayMs: rule.delayMs };
  }
  return undefined;
}

/** The S3 operation a request is, from its method, path and query (path-style addressing). */
export function s3Operation(method: string, _bucket: string, key: string, q: URLSearchParams, headers: IncomingMessage['headers']): string {
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (!key) {
    if (method === 'GET') return q.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return `${method}Bucket`;
  }
  if (q.has('uploadId')) {
    if (method === 'PUT') return copy ? 'UploadPartCopy' : 'UploadPart';
    if (method === 'POST') return 'CompleteMultipartUpload';
    if (method === 'DELETE') return 'AbortMultipartUpload';
    return 'ListParts';
  }
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  return `${method}Object`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers `/--faults` (PUT, DELETE, GET); false when the request is not for it. */
export async function handleFaultControl(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!(req.url ?? '').startsWith('/--faults')) return false;
  let status = 200;
  try {
    if (req.method === 'PUT') setFaultPlan((JSON.parse(await readAll(req)) as { rules: FaultRule[] }).rules ?? []);
    else if (req.method === 'POST') addFaultRules((JSON.parse(await readAll(req)) as { rules: FaultRule[] }).rules ?? []);
    else if (req.method === 'DELETE') setFaultPlan([]);
    else if (req.method !== 'GET') status = 405;
  } catch {
    status = 400;
  }
  const text = JSON.stringify({ rules });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return true;
}

/**
 * The S3 hook: applies a fault to this request, answering it when the fault is an error.
 * True when the request was answered here.
 */
export async function s3Fault(req: IncomingMessage, res: ServerResponse, request: FaultRequest): Promise<boolean> {
  const fault = takeFault('s3', request);
  if (!fault) return false;
  if (fault.delayMs) await sleep(fault.delayMs);
  if (!fault.error) return false;
  req.resume();
  const { status, code, message = 'We encountered an internal error. Please try again.' } = fault.error;
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>/${request.bucket}/${request.key ?? ''}</Resource><RequestId>fault</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
  return true;
}

/**
 * The DynamoDB hook around a request listener (dynalite's): reads the body to match rules on it,
 * applies a fault, and otherwise hands the request on with its body intact.
 */
export function withDynamoFaults(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      if (await handleFaultControl(req, res)) return;
      if (!rules.some((r) => r.service === 'dynamodb')) return listener(req, res);
      const body = await readAll(req);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const fault = takeFault('dynamodb', { operation, body });
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.error) {
        const { status, code, message = 'The level of configured provisioned throughput for the table was exceeded.' } = fault.error;
        const text = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, message });
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(text),
          'x-amzn-requestid': 'fault',
        });
        res.end(text);
        return;
      }
      listener(replayRequest(req, body), res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
