import { mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { localS3Client, startLocalS3, type LocalS3 } from '../../../local/s3';

const BUCKET = 'images';
const MiB = 1024 * 1024;

let dataDir: string;
let s3: LocalS3;
let client: S3Client;

const makeClient = localS3Client;

const uploadFolder = (uploadId: string) => path.join(dataDir, BUCKET, '._S3rver_uploads', uploadId);

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'local-s3-'));
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET, 'other'] });
  client = makeClient(s3.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function openUploads(prefix?: string) {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => ({ Key: u.Key, UploadId: u.UploadId, Initiated: u.Initiated }));
}

describe('local S3 (s3rver + multipart additions)', () => {
  it('creates the configured buckets', () => {
    expect(existsSync(path.join(dataDir, BUCKET))).toBe(true);
    expect(existsSync(path.join(dataDir, 'other'))).toBe(true);
  });

  it('lists, lists parts of, and aborts a multipart upload', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2' }));
    expect(UploadId).toBeDefined();
    const other = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'elsewhere/x' }));
    const part1 = Buffer.alloc(5 * MiB, 1);
    const part2 = Buffer.from('tail');
    const r1 = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId, PartNumber: 1, Body: part1 }),
    );
    const r2 = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId, PartNumber: 2, Body: part2 }),
    );

    const filtered = await openUploads('builds/');
    expect(filtered).toEqual([{ Key: 'builds/job-1/disk.qcow2', UploadId, Initiated: expect.any(Date) }]);
    expect((await openUploads()).map((u) => u.UploadId).sort()).toEqual([UploadId, other.UploadId].sort());

    const parts = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId }));
    expect(parts.UploadId).toBe(UploadId);
    expect(parts.IsTruncated).toBe(false);
    expect(parts.Parts?.map((p) => ({ n: p.PartNumber, size: p.Size, etag: p.ETag }))).toEqual([
      { n: 1, size: part1.length, etag: r1.ETag },
      { n: 2, size: part2.length, etag: r2.ETag },
    ]);
    expect(parts.Parts?.[0].LastModified).toBeInstanceOf(Date);
    expect(readdirSync(uploadFolder(UploadId!))).toEqual(expect.arrayContaining(['1', '2']));

    const abort = await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId }));
    expect(abort.$metadata.httpStatusCode).toBe(204);
    expect(await openUploads('builds/')).toEqual([]);
    expect(existsSync(uploadFolder(UploadId!))).toBe(false);

    // the upload is gone for every multipart operation
    for (const send of [
      () => client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId })),
      () => client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId })),
      () => client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'builds/job-1/disk.qcow2', UploadId, PartNumber: 3, Body: 'x' })),
    ]) {
      await expect(send()).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    }
    expect(existsSync(uploadFolder(UploadId!))).toBe(false);

    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'elsewhere/x', UploadId: other.UploadId }));
    expect(await openUploads()).toEqual([]);
  });

  it('rejects an abort for an upload id under another key', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'a' }));
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'b', UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'a', UploadId }));
  });

  it('pages ListMultipartUploads with key and upload-id markers', async () => {
    const keys = ['p/1', 'p/2', 'p/3'];
    const ids: string[] = [];
    for (const Key of keys) ids.push((await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }))).UploadId!);
    const page1 = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'p/', MaxUploads: 2 }));
    expect(page1.IsTruncated).toBe(true);
    expect(page1.Uploads?.map((u) => u.Key)).toEqual(['p/1', 'p/2']);
    const page2 = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: BUCKET,
        Prefix: 'p/',
        MaxUploads: 2,
        KeyMarker: page1.NextKeyMarker,
        UploadIdMarker: page1.NextUploadIdMarker,
      }),
    );
    expect(page2.IsTruncated).toBe(false);
    expect(page2.Uploads?.map((u) => u.Key)).toEqual(['p/3']);
    for (const [i, Key] of keys.entries()) await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId: ids[i] }));
  });

  it('answers NoSuchBucket for listing uploads of a missing bucket', async () => {
    await expect(client.send(new ListMultipartUploadsCommand({ Bucket: 'nope' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('Complete removes the upload from the open list and stores the object', async () => {
    const Key = 'done/object.bin';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const a = Buffer.alloc(5 * MiB, 7);
    const b = Buffer.from('end');
    const p1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: a }));
    const p2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 2, Body: b }));
    expect((await openUploads('done/')).length).toBe(1);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(await openUploads('done/')).toEqual([]);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    expect(body.length).toBe(a.length + b.length);
    expect(body.subarray(-3).toString()).toBe('end');
    // completing again: the upload no longer exists
    await expect(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('Complete refuses, as S3 does, a non-last part under 5 MiB, parts out of order and unknown ETags; with gaps in part numbers it succeeds', async () => {
    // Prepare
    const Key = 'rules/object.bin';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const put = (PartNumber: number, Body: Buffer) =>
      client.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber, Body }));
    const small = await put(2, Buffer.alloc(1024, 1));
    const big = await put(4, Buffer.alloc(5 * MiB, 2));
    const last = await put(7, Buffer.from('tail'));
    const complete = (Parts: { PartNumber: number; ETag?: string }[]) =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }));
    // Act + Assess
    await expect(
      complete([
        { PartNumber: 2, ETag: small.ETag },
        { PartNumber: 4, ETag: big.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    await expect(
      complete([
        { PartNumber: 4, ETag: big.ETag },
        { PartNumber: 2, ETag: small.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(
      complete([
        { PartNumber: 4, ETag: big.ETag },
        { PartNumber: 7, ETag: '"0123"' },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(
      complete([
        { PartNumber: 4, ETag: big.ETag },
        { PartNumber: 9, ETag: last.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    expect((await openUploads('rules/')).length).toBe(1);
    await complete([
      { PartNumber: 4, ETag: big.ETag },
      { PartNumber: 7, ETag: last.ETag },
    ]);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    expect(body.length).toBe(5 * MiB + 4);
    expect(body.subarray(-4).toString()).toBe('tail');
  });

  it('lib-storage Upload of a stream that fails mid-way leaves no open upload', async () => {
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 6 * MiB) {
          this.destroy(new Error('source disk went away'));
          return;
        }
        sent += MiB;
        this.push(Buffer.alloc(MiB, 3));
      },
    });
    const sentCommands: string[] = [];
    const spied = makeClient(s3.endpoint);
    spied.middlewareStack.add(
      (next, context) => async (args) => {
        sentCommands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const upload = new Upload({
      client: spied,
      params: { Bucket: BUCKET, Key: 'broken/disk.raw', Body: body },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    await expect(upload.done()).rejects.toThrow('source disk went away');
    spied.destroy();
    // a multipart upload was really opened (and then aborted by lib-storage)
    expect(sentCommands).toEqual(expect.arrayContaining(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand']));
    expect(await openUploads('broken/')).toEqual([]);
    expect(readdirSync(path.join(dataDir, BUCKET, '._S3rver_uploads'))).toEqual([]);
  });

  it('lib-storage Upload of a stream in several parts succeeds', async () => {
    const data = Buffer.alloc(11 * MiB);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    const upload = new Upload({
      client,
      params: { Bucket: BUCKET, Key: 'ok/disk.raw', Body: Readable.from([data.subarray(0, 7 * MiB), data.subarray(7 * MiB)]) },
      partSize: 5 * MiB,
    });
    await upload.done();
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ok/disk.raw' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(await openUploads('ok/')).toEqual([]);
  });

  it('serves suffix, open and closed byte ranges, also through a presigned URL', async () => {
    const Key = 'range/abc.txt';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'abcdefghijklmnopqrstuvwxyz' }));
    const read = async (Range: string) => {
      const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key, Range }));
      return { text: await out.Body!.transformToString(), range: out.ContentRange, length: out.ContentLength };
    };
    expect(await read('bytes=-5')).toEqual({ text: 'vwxyz', range: 'bytes 21-25/26', length: 5 });
    expect(await read('bytes=-100')).toEqual({ text: 'abcdefghijklmnopqrstuvwxyz', range: 'bytes 0-25/26', length: 26 });
    expect(await read('bytes=2-4')).toEqual({ text: 'cde', range: 'bytes 2-4/26', length: 3 });
    expect(await read('bytes=24-')).toEqual({ text: 'yz', range: 'bytes 24-25/26', length: 2 });
    await expect(read('bytes=-0')).rejects.toMatchObject({ $metadata: { httpStatusCode: 416 } });

    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key }), { expiresIn: 60 });
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe('abcdefghijklmnopqrstuvwxyz');
    const tail = await fetch(url, { headers: { Range: 'bytes=-3' } });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe('xyz');
  });

  it('UploadPartCopy copies a range of a source whose key has segments opening with "." or holding "&", pinned to its ETag', async () => {
    // as an ova's vmdk under images/<id>/.ova/ (lambdas/workflow/ova-compose.ts): such keys are stored escaped (local/s3-keys.ts)
    const source = 'images/i-1/.ova/a&b.vmdk';
    const bytes = Buffer.alloc(6 * MiB);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);
    const { ETag } = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: source, Body: bytes }));
    const Key = 'images/i-1/file.ova';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const CopySource = `${BUCKET}/${source.split('/').map(encodeURIComponent).join('/')}`;
    await client.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key,
        UploadId,
        PartNumber: 1,
        CopySource,
        CopySourceRange: `bytes=${MiB}-${6 * MiB - 1}`,
        CopySourceIfMatch: ETag,
      }),
    );
    await expect(
      client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 2, CopySource, CopySourceIfMatch: '"0"' })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const parts = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB]]);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: parts.Parts![0].ETag }] },
      }),
    );
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(bytes.subarray(MiB))).toBe(true);
  });

  it('keeps open uploads across a restart on the same data dir', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'restart/k' }));
    const again = await startLocalS3({ dataDir, buckets: [BUCKET] });
    const c2 = makeClient(again.endpoint);
    try {
      const out = await c2.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'restart/' }));
      expect(out.Uploads?.map((u) => u.UploadId)).toEqual([UploadId]);
      await c2.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'restart/k', UploadId }));
    } finally {
      c2.destroy();
      await again.close();
    }
  });
});
