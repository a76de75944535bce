/**
 * Local S3: s3rver 3.7.1 behind a small front handler that adds what s3rver lacks and the service needs.
 *
 * s3rver keeps an open multipart upload on disk as
 *   <dataDir>/<bucket>/._S3rver_uploads/<uploadId>/key        (the object key, plain text)
 *   <dataDir>/<bucket>/._S3rver_uploads/<uploadId>/metadata   (the CreateMultipartUpload request headers, JSON)
 *   <dataDir>/<bucket>/._S3rver_uploads/<uploadId>/<n>        (part n's bytes) and <n>.md5 (its hex MD5)
 * and removes the folder on CompleteMultipartUpload. That folder is therefore the registry of open
 * uploads (it survives restarts); the additions below read and delete those same files:
 *   - ListMultipartUploads  GET    /bucket?uploads[&prefix&delimiter&key-marker&upload-id-marker&max-uploads]
 *   - ListParts             GET    /bucket/key?uploadId=…[&part-number-marker&max-parts]
 *   - AbortMultipartUpload  DELETE /bucket/key?uploadId=…  → 204; unknown id → 404 NoSuchUpload
 *   - UploadPart / CompleteMultipartUpload to an unknown (e.g. aborted) upload → 404 NoSuchUpload
 *     (s3rver would silently recreate the folder, or answer 500)
 *   - CompleteMultipartUpload refuses parts out of order, unknown parts or ETags, and non-last parts
 *     under 5 MiB, as S3 does (local/s3-complete.ts)
 *   - `Range: bytes=-N` returns the last N bytes (s3rver returned the first N+1)
 *   - keys are stored by an injective, contained mapping (s3-keys.ts): any key, `..` segments included,
 *     stays inside its bucket's folder; a bucket name S3 would refuse is 400 InvalidBucketName
 * Faults for tests can be injected through `/__faults` (local/faults.ts).
 * Everything else goes to s3rver unchanged (path-style only; signatures are not checked).
 *   - UploadPartCopy        PUT    /bucket/key?partNumber=N&uploadId=… with x-amz-copy-source
 *     [+ x-amz-copy-source-range: bytes=first-last, x-amz-copy-source-if-match]: the source's bytes
 *     (or the range) become part N, as S3 does (errors: NoSuchUpload, NoSuchKey, InvalidArgument for a
 *     bad range or part number or a source part over 5 GiB, PreconditionFailed)
 * Still missing: truncated ListObjects needs `node --openssl-legacy-provider`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, mkdirSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { handleFaultControl, s3Fault, s3Operation as protocolS3Operation } from './protocol-faults';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { listenOnLoopback } from './listen';
import { installLatency, type Latency } from './latency';
import { FaultPlan } from './faults';
import { encodeKeyPath, installSafeKeyPaths } from './s3-keys';
import { checkCompletion, replayRequest } from './s3-complete';

// s3rver ships no type declarations; this is the part used here.
interface S3rverApp {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  configureBuckets(): Promise<unknown>;
  logger: { close(): void; exceptions: { unhandle(): void } };
}
type S3rverCtor = new (options: {
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  allowMismatchedSignatures: boolean;
  configureBuckets: { name: string }[];
}) => S3rverApp;
const S3rver: S3rverCtor = require('s3rver');

export interface LocalS3Options {
  /** 0 or undefined = an ephemeral port. */
  port?: number;
  dataDir: string;
  /** Created if missing. */
  buckets: string[];
}

export interface LocalS3 {
  endpoint: string;
  /** Latency injection (local/latency.ts). */
  latency: Latency;
  close(): Promise<void>;
}

const UPLOADS_DIR = '._S3rver_uploads';
const OBJECT_SUFFIX = '._S3rver_object';
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = '<ID>123456789000</ID><DisplayName>S3rver</DisplayName>';
/** s3rver's upload ids are 32 hex characters; anything else can't name an upload (and can't escape the folder). */
const UPLOAD_ID = /^[0-9a-f]{1,64}$/i;
/** S3's bucket naming rules (path-style): the name is also a folder name here, so nothing else gets through. */
const VALID_BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function xmlEscape(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function tag(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(value)}</${name}>`;
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  const payload = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, detail: Record<string, string> = {}): void {
  const extra = Object.entries(detail)
    .map(([k, v]) => tag(k, v))
    .join('');
  sendXml(res, status, `<Error>${tag('Code', code)}${tag('Message', message)}${extra}</Error>`);
}

function noSuchUpload(res: ServerResponse, uploadId: string): void {
  sendError(
    res,
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
}

function intParam(value: string | null, fallback: number, max: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  installSafeKeyPaths();
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const app = new S3rver({
    directory: dataDir,
    silent: true,
    vhostBuckets: false,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  await app.configureBuckets();
  const forward = app.callback();
  const faults = new FaultPlan();

  const uploadsDir = (bucket: string) => path.join(dataDir, bucket, UPLOADS_DIR);
  const uploadDir = (bucket: string, uploadId: string) => path.join(uploadsDir(bucket), uploadId);

  /** Part uploads being received, per upload id, so Abort can let them land before deleting the folder. */
  const partsInFlight = new Map<string, Set<Promise<void>>>();
  /** Upload ids being aborted: new parts for them are refused at once. */
  const aborting = new Set<string>();

  async function bucketExists(bucket: string): Promise<boolean> {
    if (!bucket || bucket.includes('..')) return false;
    try {
      return (await fsp.stat(path.join(dataDir, bucket))).isDirectory();
    } catch {
      return false;
    }
  }

  async function readUpload(bucket: string, uploadId: string): Promise<OpenUpload | undefined> {
    if (!UPLOAD_ID.test(uploadId) || aborting.has(uploadId)) return undefined;
    const keyFile = path.join(uploadDir(bucket, uploadId), 'key');
    try {
      const [key, stat] = await Promise.all([fsp.readFile(keyFile, 'utf8'), fsp.stat(keyFile)]);
      return { key, uploadId, initiated: stat.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async function listOpenUploads(bucket: string): Promise<OpenUpload[]> {
    let ids: string[];
    try {
      ids = await fsp.readdir(uploadsDir(bucket));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const uploads = await Promise.all(ids.map((id) => readUpload(bucket, id)));
    return uploads
      .filter((u): u is OpenUpload => u !== undefined)
      .sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1),
      );
  }

  async function listMultipartUploads(res: ServerResponse, bucket: string, q: URLSearchParams): Promise<void> {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const keyMarker = q.get('key-marker') ?? '';
    const uploadIdMarker = q.get('upload-id-marker') ?? '';
    const maxUploads = intParam(q.get('max-uploads'), 1000, 1000);
    let uploads = (await listOpenUploads(bucket)).filter((u) => u.key.startsWith(prefix));
    if (keyMarker) {
      const at = uploadIdMarker ? uploads.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker) : -1;
      uploads = at >= 0 ? uploads.slice(at + 1) : uploads.filter((u) => u.key > keyMarker);
    }
    const items: string[] = [];
    const commonPrefixes = new Set<string>();
    let count = 0;
    let truncated = false;
    let last: OpenUpload | undefined;
    for (const u of uploads) {
      const cut = delimiter ? u.key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const p = u.key.slice(0, cut + delimiter.length);
        if (commonPrefixes.has(p)) continue;
        if (count === maxUploads) {
          truncated = true;
          break;
        }
        commonPrefixes.add(p);
        count++;
        last = u;
        continue;
      }
      if (count === maxUploads) {
        truncated = true;
        break;
      }
      count++;
      last = u;
      items.push(
        `<Upload>${tag('Key', u.key)}${tag('UploadId', u.uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>` +
          `<StorageClass>STANDARD</StorageClass>${tag('Initiated', u.initiated.toISOString())}</Upload>`,
      );
    }
    const body =
      `<ListMultipartUploadsResult xmlns="${XMLNS}">${tag('Bucket', bucket)}${tag('KeyMarker', keyMarker)}` +
      `${tag('UploadIdMarker', uploadIdMarker)}` +
      (truncated && last ? `${tag('NextKeyMarker', last.key)}${tag('NextUploadIdMarker', last.uploadId)}` : '') +
      `${tag('Prefix', prefix)}${delimiter ? tag('Delimiter', delimiter) : ''}${tag('MaxUploads', maxUploads)}` +
      `${tag('IsTruncated', String(truncated))}${items.join('')}` +
      [...commonPrefixes].map((p) => `<CommonPrefixes>${tag('Prefix', p)}</CommonPrefixes>`).join('') +
      `</ListMultipartUploadsResult>`;
    sendXml(res, 200, body);
  }

  async function listParts(res: ServerResponse, bucket: string, upload: OpenUpload, q: URLSearchParams): Promise<void> {
    const marker = intParam(q.get('part-number-marker'), 0, 10000);
    const maxParts = intParam(q.get('max-parts'), 1000, 1000);
    const dir = uploadDir(bucket, upload.uploadId);
    const numbers = (await fsp.readdir(dir))
      .filter((f) => /^\d+$/.test(f))
      .map(Number)
      .filter((n) => n > marker)
      .sort((a, b) => a - b);
    const page = numbers.slice(0, maxParts);
    const truncated = numbers.length > page.length;
    const parts = await Promise.all(
      page.map(async (n) => {
        const file = path.join(dir, String(n));
        const [stat, md5] = await Promise.all([fsp.stat(file), fsp.readFile(`${file}.md5`, 'utf8').catch(() => '')]);
        return (
          `<Part>${tag('PartNumber', n)}${tag('LastModified', stat.mtime.toISOString())}` +
          `${tag('ETag', `"${md5.trim()}"`)}${tag('Size', stat.size)}</Part>`
        );
      }),
    );
    const body =
      `<ListPartsResult xmlns="${XMLNS}">${tag('Bucket', bucket)}${tag('Key', upload.key)}${tag('UploadId', upload.uploadId)}` +
      `<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner><StorageClass>STANDARD</StorageClass>` +
      `${tag('PartNumberMarker', marker)}${tag('NextPartNumberMarker', page.length ? page[page.length - 1] : marker)}` +
      `${tag('MaxParts', maxParts)}${tag('IsTruncated', String(truncated))}${parts.join('')}</ListPartsResult>`;
    sendXml(res, 200, body);
  }

  async function abortUpload(res: ServerResponse, bucket: string, upload: OpenUpload): Promise<void> {
    aborting.add(upload.uploadId);
    try {
      // Let parts already being received finish (or fail) first, so none recreates the folder afterwards.
      await Promise.all([...(partsInFlight.get(upload.uploadId) ?? [])]);
      await fsp.rm(uploadDir(bucket, upload.uploadId), { recursive: true, force: true });
    } finally {
      aborting.delete(upload.uploadId);
    }
    res.writeHead(204);
    res.end();
  }

  function forwardPart(req: IncomingMessage, res: ServerResponse, uploadId: string): void {
    let set = partsInFlight.get(uploadId);
    if (!set) {
      set = new Set();
      partsInFlight.set(uploadId, set);
    }
    const done = new Promise<void>((resolve) => res.once('close', resolve));
    set.add(done);
    void done.then(() => {
      set.delete(done);
      if (set.size === 0 && partsInFlight.get(uploadId) === set) partsInFlight.delete(uploadId);
    });
    forward(req, res);
  }

  /** S3's limit on one copied part (and on CopyObject's whole source). */
  const MAX_COPY_PART = 5 * 1024 ** 3;

  /** UploadPartCopy: part N of `upload` is the source object's bytes, or the range of them. */
  async function uploadPartCopy(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    upload: OpenUpload,
    q: URLSearchParams,
  ): Promise<void> {
    const partNumber = Number(q.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
      return sendError(res, 400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
      });
    }
    let source: string;
    try {
      source = decodeURIComponent(String(req.headers['x-amz-copy-source'])).replace(/^\//, '').split('?')[0];
    } catch {
      return sendError(res, 400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
        ArgumentName: 'x-amz-copy-source',
      });
    }
    const cut = source.indexOf('/');
    const srcBucket = cut > 0 ? source.slice(0, cut) : '';
    const srcKey = cut > 0 ? source.slice(cut + 1) : '';
    if (!srcBucket || !srcKey || srcKey.split('/').includes('..')) {
      return sendError(res, 400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
        ArgumentName: 'x-amz-copy-source',
      });
    }
    if (!(await bucketExists(srcBucket)))
      return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: srcBucket });
    // stored as every key is (s3-keys.ts): a segment opening with "." (e.g. images/<id>/.ova/…) is escaped
    const keyParts = encodeKeyPath(srcKey).split('/');
    const last = keyParts.pop() ?? '';
    const objectFile = path.join(dataDir, srcBucket, ...keyParts, `${last}${OBJECT_SUFFIX}`);
    let size: number;
    try {
      size = (await fsp.stat(objectFile)).size;
    } catch {
      return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: srcKey });
    }
    const ifMatch = req.headers['x-amz-copy-source-if-match'];
    if (ifMatch !== undefined) {
      const md5 = (
        await fsp.readFile(path.join(dataDir, srcBucket, ...keyParts, `${last}._S3rver_object.md5`), 'utf8').catch(() => '')
      ).trim();
      if (String(ifMatch).replace(/"/g, '') !== md5)
        return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
          Condition: 'x-amz-copy-source-If-Match',
        });
    }
    let first = 0;
    let lastByte = size - 1;
    const rangeHeader = req.headers['x-amz-copy-source-range'];
    if (rangeHeader !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(rangeHeader).trim());
      if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= size) {
        return sendError(res, 400, 'InvalidArgument', `Range specified is not valid for source object of size: ${size}`, {
          ArgumentName: 'x-amz-copy-source-range',
        });
      }
      first = Number(m[1]);
      lastByte = Number(m[2]);
    }
    if (lastByte - first + 1 > MAX_COPY_PART) {
      return sendError(
        res,
        400,
        'InvalidRequest',
        'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120',
      );
    }
    // Tracked like an UploadPart, so an abort waits for it before removing the upload's folder.
    let set = partsInFlight.get(upload.uploadId);
    if (!set) {
      set = new Set();
      partsInFlight.set(upload.uploadId, set);
    }
    const partFile = path.join(uploadDir(bucket, upload.uploadId), String(partNumber));
    const hash = createHash('md5');
    const copying = (async () => {
      const out = createWriteStream(partFile);
      if (size === 0) {
        out.end();
        await new Promise<void>((resolve, reject) => out.once('finish', () => resolve()).once('error', reject));
      } else {
        const read = createReadStream(objectFile, { start: first, end: lastByte });
        read.on('data', (chunk) => hash.update(chunk as Buffer));
        await pipeline(read, out);
      }
      const md5 = hash.digest('hex');
      await fsp.writeFile(`${partFile}.md5`, md5);
      return md5;
    })();
    const tracked = copying.then(
      () => undefined,
      () => undefined,
    );
    set.add(tracked);
    void tracked.then(() => {
      set.delete(tracked);
      if (set.size === 0 && partsInFlight.get(upload.uploadId) === set) partsInFlight.delete(upload.uploadId);
    });
    const md5 = await copying;
    sendXml(
      res,
      200,
      `<CopyPartResult xmlns="${XMLNS}">${tag('LastModified', new Date().toISOString())}${tag('ETag', `"${md5}"`)}</CopyPartResult>`,
    );
  }

  /** `bytes=-N` → `bytes=<size-N>-`; s3rver reads it as `0-N`. */
  async function fixSuffixRange(req: IncomingMessage, bucket: string, key: string): Promise<void> {
    const m = /^bytes=-(\d+)$/.exec(String(req.headers.range ?? '').trim());
    if (!m || !key) return;
    const parts = encodeKeyPath(key).split('/');
    const last = parts.pop() ?? '';
    let size: number;
    try {
      size = (await fsp.stat(path.join(dataDir, bucket, ...parts, `${last}${OBJECT_SUFFIX}`))).size;
    } catch {
      return; // let s3rver answer NoSuchKey
    }
    const n = Number(m[1]);
    if (size === 0 && n > 0)
      delete req.headers.range; // whole (empty) object, as S3 does
    else req.headers.range = `bytes=${Math.max(0, size - n)}-`; // n = 0 → start = size → 416 InvalidRange
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').slice(1);
    let bucket: string;
    let key: string;
    try {
      bucket = decodeURIComponent(segments[0] ?? '');
      key = segments.slice(1).map(decodeURIComponent).join('/');
    } catch {
      return forward(req, res);
    }
    // the fault plans' control paths (tests only) are no buckets: served before any bucket check
    if (await faults.control(req, res, url.pathname)) return;
    if (await handleFaultControl(req, res)) return;
    if (bucket && !VALID_BUCKET.test(bucket)) {
      req.resume();
      return sendError(res, 400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
    }
    const copySource = req.headers['x-amz-copy-source'];
    if (typeof copySource === 'string') {
      // S3 URL-decodes the whole copy source; s3rver only `decodeURI`s it (so "%2F" stayed) and took any
      // first segment, ".." included, as the source bucket. Decode it as S3 does and check the bucket.
      let source: string;
      try {
        source = decodeURIComponent(copySource.split('?')[0]).replace(/^\//, '');
      } catch {
        source = '';
      }
      const cut = source.indexOf('/');
      const srcBucket = cut > 0 ? source.slice(0, cut) : '';
      if (!VALID_BUCKET.test(srcBucket) || cut === source.length - 1) {
        req.resume();
        return sendError(res, 400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
          ArgumentName: 'x-amz-copy-source',
        });
      }
      req.headers['x-amz-copy-source'] = encodeURI(source);
    }
    if (key.startsWith('/') || key.includes('//')) {
      // s3rver's router matches no empty path segment: hand it the key as one encoded segment
      req.url = `/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}${url.search}`;
    }
    const q = url.searchParams;
    if (faults.intercept(req, res, { bucket, key, query: q })) return;
    const method = req.method ?? 'GET';
    const uploadId = q.get('uploadId');
    if (await s3Fault(req, res, { operation: protocolS3Operation(method, bucket, key, q, req.headers), bucket, key })) return;

    if (method === 'GET' && bucket && !key && q.has('uploads') && !q.has('uploadId')) {
      if (!(await bucketExists(bucket)))
        return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      return listMultipartUploads(res, bucket, q);
    }
    if (bucket && key && uploadId !== null && method === 'PUT' && req.headers['x-amz-copy-source']) {
      if (!(await bucketExists(bucket)))
        return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      const upload = await readUpload(bucket, uploadId);
      req.resume();
      if (!upload || upload.key !== key) return noSuchUpload(res, uploadId);
      return uploadPartCopy(req, res, bucket, upload, q);
    }
    if (bucket && key && uploadId !== null && ['GET', 'DELETE', 'PUT', 'POST'].includes(method) && !req.headers['x-amz-copy-source']) {
      if (!(await bucketExists(bucket)))
        return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      const upload = await readUpload(bucket, uploadId);
      if (!upload || upload.key !== key) {
        req.resume();
        return noSuchUpload(res, uploadId);
      }
      if (method === 'GET') return listParts(res, bucket, upload, q);
      if (method === 'DELETE') return abortUpload(res, bucket, upload);
      if (method === 'PUT') return forwardPart(req, res, uploadId);
      // POST: CompleteMultipartUpload, checked as S3 checks it (local/s3-complete.ts)
      const { body, refusal } = await checkCompletion(req, uploadDir(bucket, uploadId));
      if (refusal) return sendError(res, refusal.status, refusal.code, refusal.message);
      return forward(replayRequest(req, body), res);
    }
    if ((method === 'GET' || method === 'HEAD') && bucket && key && req.headers.range) await fixSuffixRange(req, bucket, key);
    forward(req, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
    });
  });
  const latency = installLatency(server);
  const port = await listenOnLoopback(server, options.port);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    latency,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => {
          app.logger.exceptions.unhandle();
          app.logger.close();
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * An S3 client for the local S3, configured as the service's handlers are through the environment:
 * path-style addressing, and checksums only when required (s3rver would store aws-chunked framing).
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
