/**
 * The local S3 stores any key inside its bucket's folder: S3 treats keys as opaque strings, so keys
 * with "..", ".", empty or control-character segments are ordinary distinct objects, never paths.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  CopyObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { localS3Client, startLocalS3, type LocalS3 } from '../../../local/s3';
import { decodeKeyPath, encodeKeyPath } from '../../../local/s3-keys';

const BUCKET = 'images';
let root: string;
let dataDir: string;
let s3: LocalS3;
let client: S3Client;

/** Every file under `dir`, relative. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'local-s3-keys-'));
  dataDir = path.join(root, 'deep', 'data');
  mkdirSync(dataDir, { recursive: true });
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET, 'other'] });
  client = localS3Client(s3.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

const HOSTILE = [
  '../../escape',
  '../other/planted',
  'a/../b',
  'b',
  './x',
  'x',
  '.',
  '..',
  'a//b',
  'a/b',
  '/lead',
  '._S3rver_uploads/0123abcd/key',
  'nul\u0000byte',
  'esc\u001b[31m',
  '&26',
  '&',
  'dir/',
  'a/.hidden',
  '%2e%2e/y',
];

describe('local S3 key storage', () => {
  it('maps keys injectively and prefix-compatibly', () => {
    for (const k of HOSTILE) expect(decodeKeyPath(encodeKeyPath(k))).toBe(k);
    expect(new Set(HOSTILE.map(encodeKeyPath)).size).toBe(HOSTILE.length);
    for (const k of HOSTILE)
      for (let i = 0; i <= k.length; i++) expect(encodeKeyPath(k).startsWith(encodeKeyPath(k.slice(0, i)))).toBe(true);
    for (const k of HOSTILE)
      expect(
        encodeKeyPath(k)
          .split('/')
          .some((s) => s === '..' || s === '.' || (s.startsWith('.') && s !== '')),
      ).toBe(false);
  });

  it('stores hostile keys as distinct objects inside the bucket folder, lists, copies and deletes them', async () => {
    const outsideBefore = tree(root).filter((f) => !f.startsWith(path.join('deep', 'data')));
    for (const [i, Key] of HOSTILE.entries()) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `body ${i}` }));
    // a multipart upload with a traversal key too
    await new Upload({
      client,
      params: { Bucket: BUCKET, Key: '../../multipart', Body: Buffer.alloc(6 * 1024 * 1024, 7) },
      partSize: 5 * 1024 * 1024,
    }).done();
    await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: '../../../copied', CopySource: `${BUCKET}/${encodeURIComponent('a/../b')}` }),
    );

    // nothing outside the bucket's folder: not beside the data folder, not in the other bucket
    expect(tree(root).filter((f) => !f.startsWith(path.join('deep', 'data', BUCKET)) && !outsideBefore.includes(f))).toEqual([]);
    expect(tree(path.join(dataDir, 'other'))).toEqual([]);

    for (const [i, Key] of HOSTILE.entries()) {
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      expect(await got.Body!.transformToString()).toBe(`body ${i}`);
    }
    const copied = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: '../../../copied' }));
    expect(await copied.Body!.transformToString()).toBe(`body ${HOSTILE.indexOf('a/../b')}`);

    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([...HOSTILE, '../../multipart', '../../../copied'].sort());
    const underA = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'a/' }));
    expect((underA.Contents ?? []).map((o) => o.Key).sort()).toEqual(['a/../b', 'a/.hidden', 'a//b', 'a/b']);

    for (const Key of [...HOSTILE, '../../multipart', '../../../copied'])
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    expect(tree(path.join(dataDir, BUCKET)).filter((f) => !f.startsWith('._S3rver_'))).toEqual([]);
    expect(readdirSync(dataDir).sort()).toEqual([BUCKET, 'other']);
  });

  it('refuses bucket names S3 would refuse (a bucket is a folder here)', async () => {
    for (const raw of ['/..', '/%2e%2e', '/a..b', '/.x']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${s3.endpoint}${raw}/k`, { method: 'PUT', headers: { 'content-length': '1' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('x');
      });
      expect(status).toBe(400);
    }
    expect(readdirSync(root)).toEqual(['deep']);
  });
});
