import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildImageFile, createS3MultipartSink, partSizeFor, MIN_PART_SIZE } from '../../../lambdas/pipeline';
import { startS3rver, type LocalS3rver } from '../../../bench/lib/s3rver';
import { generateDisk, generateDiskBuffer } from '../../helpers/disk-content';

const KiB = 1024;
const MiB = 1024 * KiB;
const sha = (alg: 'sha1' | 'sha256', data: Buffer): string => createHash(alg).update(data).digest('hex');

interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

/** A tiny stand-in for S3Client: records commands, answers like S3, fails where told. */
function fakeS3(behaviour: { failPart?: number; failComplete?: boolean; partDelayMs?: number } = {}) {
  const sent: SentCommand[] = [];
  const client = {
    config: {},
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) {
      const name = command.constructor.name.replace(/Command$/, '');
      // copy the body as a real request would have sent it: the sink reuses part buffers afterwards
      const body = command.input.Body;
      sent.push({ name, input: Buffer.isBuffer(body) ? { ...command.input, Body: Buffer.from(body) } : command.input });
      switch (name) {
        case 'CreateMultipartUpload':
          return { UploadId: 'upload-1' };
        case 'UploadPart': {
          if (behaviour.partDelayMs) await new Promise((r) => setTimeout(r, behaviour.partDelayMs));
          if (options?.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
          if (command.input.PartNumber === behaviour.failPart) throw Object.assign(new Error('InternalError'), { name: 'InternalError' });
          return { ETag: `"etag-${String(command.input.PartNumber)}"` };
        }
        case 'CompleteMultipartUpload':
          if (behaviour.failComplete) throw Object.assign(new Error('We encountered an internal error'), { name: 'InternalError' });
          return { ETag: '"final-2"' };
        case 'PutObject':
          return { ETag: '"single"' };
        case 'AbortMultipartUpload':
          return {};
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
  };
  return { client: client as unknown as S3Client, sent, names: () => sent.map((c) => c.name) };
}

async function* pieces(data: Buffer, piece = 256 * KiB): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += piece) yield data.subarray(off, off + piece);
}

describe('createS3MultipartSink (fake S3)', () => {
  const input = generateDiskBuffer(24 * MiB, 23);

  it('uploads parts in order and completes with every part', async () => {
    // Prepare
    const s3 = fakeS3();
    const sink = createS3MultipartSink({ client: s3.client, bucket: 'b', key: 'images/i.raw', partSize: MIN_PART_SIZE, queueSize: 2 });

    // Act
    await buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'none', sink });

    // Assess
    const parts = s3.sent.filter((c) => c.name === 'UploadPart');
    expect(s3.names()[0]).toBe('CreateMultipartUpload');
    expect(s3.names().at(-1)).toBe('CompleteMultipartUpload');
    expect(parts.map((p) => p.input.PartNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(Buffer.concat(parts.map((p) => p.input.Body as Buffer)).equals(input)).toBe(true);
    for (const p of parts.slice(0, -1)) expect((p.input.Body as Buffer).length).toBe(MIN_PART_SIZE);
    const complete = s3.sent.at(-1)!.input as { UploadId: string; MultipartUpload: { Parts: unknown[] } };
    expect(complete.UploadId).toBe('upload-1');
    expect(complete.MultipartUpload.Parts).toEqual([1, 2, 3, 4, 5].map((n) => ({ PartNumber: n, ETag: `"etag-${n}"` })));
    expect(sink.result).toMatchObject({ bucket: 'b', key: 'images/i.raw', bytes: input.length, parts: 5, etag: '"final-2"' });
  });

  it('stores an output smaller than one part with a single PutObject', async () => {
    // Prepare
    const s3 = fakeS3();
    const sink = createS3MultipartSink({ client: s3.client, bucket: 'b', key: 'k', params: { ContentType: 'application/gzip' } });
    const small = input.subarray(0, 100 * KiB);

    // Act
    const result = await buildImageFile({ source: pieces(small), sourceSize: small.length, compression: 'gzip', sink });

    // Assess
    expect(s3.names()).toEqual(['PutObject']);
    const body = s3.sent[0].input.Body as Buffer;
    expect(s3.sent[0].input).toMatchObject({ Bucket: 'b', Key: 'k', ContentType: 'application/gzip', ContentLength: result.size });
    expect(sha('sha256', body)).toBe(result.sha256);
    expect(gunzipSync(body).equals(small)).toBe(true);
  });

  it('aborts the multipart upload when the source errors mid-stream', async () => {
    // Prepare
    const s3 = fakeS3();
    async function* failing(): AsyncGenerator<Buffer> {
      yield* pieces(input.subarray(0, 12 * MiB));
      throw new Error('GetObject stream reset');
    }
    const sink = createS3MultipartSink({ client: s3.client, bucket: 'b', key: 'k', partSize: MIN_PART_SIZE });

    // Act
    const run = buildImageFile({ source: failing(), sourceSize: input.length, compression: 'none', sink });

    // Assess
    await expect(run).rejects.toThrow('GetObject stream reset');
    expect(s3.names()).toContain('AbortMultipartUpload');
    expect(s3.names()).not.toContain('CompleteMultipartUpload');
    expect(s3.sent.find((c) => c.name === 'AbortMultipartUpload')!.input).toEqual({ Bucket: 'b', Key: 'k', UploadId: 'upload-1' });
    expect(s3.names().at(-1)).toBe('AbortMultipartUpload');
  });

  it('aborts the multipart upload when a part fails, after the other parts settle', async () => {
    // Prepare
    const s3 = fakeS3({ failPart: 2, partDelayMs: 5 });
    const sink = createS3MultipartSink({ client: s3.client, bucket: 'b', key: 'k', partSize: MIN_PART_SIZE, queueSize: 2 });

    // Act
    const run = buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'gzip', level: 1, sink, chunkSize: MiB });

    // Assess
    await expect(run).rejects.toThrow('InternalError');
    expect(s3.names().filter((n) => n === 'AbortMultipartUpload')).toHaveLength(1);
    expect(s3.names().at(-1)).toBe('AbortMultipartUpload');
    expect(s3.names()).not.toContain('CompleteMultipartUpload');
  });

  it('aborts the multipart upload when CompleteMultipartUpload fails', async () => {
    // Prepare
    const s3 = fakeS3({ failComplete: true });
    const sink = createS3MultipartSink({ client: s3.client, bucket: 'b', key: 'k', partSize: MIN_PART_SIZE });

    // Act
    const run = buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'none', sink });

    // Assess
    await expect(run).rejects.toThrow('internal error');
    expect(s3.names().slice(-2)).toEqual(['CompleteMultipartUpload', 'AbortMultipartUpload']);
  });

  it('aborts the multipart upload when the build is cancelled', async () => {
    // Prepare
    const s3 = fakeS3();
    const controller = new AbortController();
    let recorded: string | undefined;
    async function* source(): AsyncGenerator<Buffer> {
      yield* pieces(input.subarray(0, 11 * MiB));
      controller.abort(new Error('cancelled by user'));
      yield* pieces(input.subarray(11 * MiB));
    }
    const sink = createS3MultipartSink({
      client: s3.client,
      bucket: 'b',
      key: 'k',
      partSize: MIN_PART_SIZE,
      onUploadCreated: (id) => {
        recorded = id;
      },
    });

    // Act
    const run = buildImageFile({ source: source(), sourceSize: input.length, compression: 'none', sink, signal: controller.signal });

    // Assess
    await expect(run).rejects.toThrow('cancelled by user');
    expect(recorded).toBe('upload-1');
    expect(sink.uploadId).toBe('upload-1');
    expect(s3.names().at(-1)).toBe('AbortMultipartUpload');
  });

  it('raises the part size so a large output fits in 10,000 parts', () => {
    expect(partSizeFor(16 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(MiB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(16 * MiB, 1024 * 1024 * MiB)).toBe(105 * MiB);
  });
});

describe('createS3MultipartSink (s3rver)', () => {
  let dir: string;
  let s3: LocalS3rver;
  let client: S3Client;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pipeline-s3-'));
    s3 = await startS3rver({ directory: dir, buckets: ['b'] });
    client = s3.client();
  });

  afterAll(async () => {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function stored(key: string): Promise<Buffer> {
    const out = await client.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  it.each(['gzip', 'none'] as const)('stores an object whose bytes match size, sha1 and sha256 (%s)', async (compression) => {
    // Prepare
    const size = 24 * MiB + 4321;
    const disk = generateDiskBuffer(size, 29);
    const key = `images/${compression}.img`;
    const sink = createS3MultipartSink({ client, bucket: 'b', key, partSize: MIN_PART_SIZE });

    // Act
    const result = await buildImageFile({ source: generateDisk(size, 29), sourceSize: size, compression, sink, chunkSize: 2 * MiB });

    // Assess
    const object = await stored(key);
    expect(result).toEqual({
      size: object.length,
      sha1: sha('sha1', object),
      sha256: sha('sha256', object),
      sourceBytes: size,
      format: 'raw',
      virtualSize: size,
    });
    expect(sink.result!.parts).toBeGreaterThanOrEqual(2);
    expect((compression === 'gzip' ? gunzipSync(object) : object).equals(disk)).toBe(true);
  });

  it('reads the source from S3 GetObject and writes the image back', async () => {
    // Prepare
    const size = 6 * MiB + 1;
    const disk = generateDiskBuffer(size, 31);
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'disks/d.raw', Body: disk }));
    const head = await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'disks/d.raw' }));
    const get = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'disks/d.raw' }));
    const sink = createS3MultipartSink({ client, bucket: 'b', key: 'images/from-s3.gz' });

    // Act
    const result = await buildImageFile({
      source: get.Body as NodeJS.ReadableStream,
      sourceSize: head.ContentLength!,
      compression: 'gzip',
      sink,
    });

    // Assess
    const object = await stored('images/from-s3.gz');
    expect(result.sha256).toBe(sha('sha256', object));
    expect(gunzipSync(object).equals(disk)).toBe(true);
  });
});
