/**
 * Fault injection for the local S3 (local/s3.ts): tests make storage slow or failing for chosen
 * requests through the local S3 endpoint itself, never through service code. A fault matches by
 * operation, bucket, key prefix, copy-source prefix and part number, and then
 *   - answers an S3 error (`error`: status, code, message), as S3 does on a failed request, or
 *   - serves the response body no faster than `bytesPerSecond` (a slow GetObject), or
 *   - waits `delayMs` before the request is handled.
 * Control (JSON), on the S3 endpoint (a path no bucket can have: bucket names cannot start with `_`):
 *   POST   /__local/faults        body: S3Fault → 201 {id}
 *   DELETE /__local/faults/<id>   → 204
 *   DELETE /__local/faults        → 204 (all)
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type S3Operation = 'GetObject' | 'HeadObject' | 'PutObject' | 'CopyObject' | 'UploadPart' | 'UploadPartCopy' | 'CompleteMultipartUpload' | 'Other';

export interface S3Fault {
  operation: S3Operation;
  bucket?: string;
  keyPrefix?: string;
  /** For copies: prefix of `x-amz-copy-source` (`bucket/key`, URL-decoded, no leading slash). */
  copySourcePrefix?: string;
  /** For part operations: only parts numbered at least this. */
  minPartNumber?: number;
  error?: { status: number; code: string; message?: string };
  bytesPerSecond?: number;
  delayMs?: number;
  /** How many matching requests it applies to; unlimited when absent. */
  times?: number;
}

export const FAULTS_PATH = '/__local/faults';

export function operationOf(method: string, key: string, q: URLSearchParams, headers: IncomingMessage['headers']): S3Operation {
  if (!key) return 'Other';
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (method === 'GET' && !q.has('uploadId')) return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'PUT' && q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  return 'Other';
}

export class S3Faults {
  private readonly faults = new Map<string, S3Fault & { used: number }>();

  /** Handles a control request; false when the request is not one. */
  async control(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname !== FAULTS_PATH && !pathname.startsWith(`${FAULTS_PATH}/`)) return false;
    const id = pathname.slice(FAULTS_PATH.length + 1);
    if (req.method === 'POST' && !id) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const fault = JSON.parse(Buffer.concat(chunks).toString('utf8')) as S3Fault;
      const faultId = randomUUID();
      this.faults.set(faultId, { ...fault, used: 0 });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: faultId }));
    } else if (req.method === 'DELETE') {
      if (id) this.faults.delete(id);
      else this.faults.clear();
      req.resume();
      res.writeHead(204);
      res.end();
    } else {
      req.resume();
      res.writeHead(405);
      res.end();
    }
    return true;
  }

  /** The fault that applies to this request (and counts it), if any. */
  match(op: S3Operation, bucket: string, key: string, q: URLSearchParams, headers: IncomingMessage['headers']): S3Fault | undefined {
    for (const fault of this.faults.values()) {
      if (fault.operation !== op) continue;
      if (fault.bucket !== undefined && fault.bucket !== bucket) continue;
      if (fault.keyPrefix !== undefined && !key.startsWith(fault.keyPrefix)) continue;
      if (fault.copySourcePrefix !== undefined) {
        const source = decodeURIComponent(String(headers['x-amz-copy-source'] ?? '')).replace(/^\//, '');
        if (!source.startsWith(fault.copySourcePrefix)) continue;
      }
      if (fault.minPartNumber !== undefined && Number(q.get('partNumber')) < fault.minPartNumber) continue;
      if (fault.times !== undefined && fault.used >= fault.times) continue;
      fault.used++;
      return fault;
    }
    return undefined;
  }
}

/** Makes `res` accept body bytes no faster than `bytesPerSecond` (pipe() honours write()'s backpressure). */
export function throttleResponse(res: ServerResponse, bytesPerSecond: number): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  (res as unknown as { write: typeof write }).write = (chunk: unknown, ...rest: unknown[]) => {
    write(chunk, ...rest);
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
    setTimeout(() => res.emit('drain'), Math.ceil((size / bytesPerSecond) * 1000));
    return false;
  };
}
