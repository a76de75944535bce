/**
 * After a restart, builds the previous local stack was running are ended as the workflow's Catch path
 * would end them. Runs its own local stack (the shared integration stack has live builds of others).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { failInterruptedBuilds } from '../../../local/recover';
import { config, disposeClients, imageRepository, jobRepository, s3Client } from '../../../lambdas/wiring';
import type { Image } from '../../../lambdas/core/image';
import type { Job } from '../../../lambdas/core/job';

let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'recover-'));
  stack = await startLocalStack({ port: 0, dataDir: path.join(dir, 'data') });
}, 120_000);

afterAll(async () => {
  disposeClients();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const now = new Date().toISOString();
const image = (id: string, state: Image['state']): Image => ({
  id,
  owner: 'o',
  name: id,
  version: '1',
  acl: [],
  tags: {},
  requirements: {},
  os: 'linux',
  type: 'zvol',
  state,
  public: false,
  created_at: now,
  updated_at: now,
  files: [],
  rev: 1,
});
const job = (id: string, imageId: string, status: Job['status']): Job => ({
  id,
  owner: 'o',
  type: 'CreateImageFromMachine',
  status,
  progress: 40,
  entities: { image_id: imageId },
  created_at: now,
  rev: 1,
});

describe('failInterruptedBuilds', () => {
  it('fails builds left INIT or RUNNING, removes their partial files, and leaves finished ones alone', async () => {
    // Prepare: two interrupted builds (one with a partial file) and one finished build
    await imageRepository().create(image('img-running', 'creating'));
    await jobRepository().create(job('job-running', 'img-running', 'RUNNING'));
    await imageRepository().create(image('img-init', 'creating'));
    await jobRepository().create(job('job-init', 'img-init', 'INIT'));
    await imageRepository().create(image('img-done', 'active'));
    await jobRepository().create(job('job-done', 'img-done', 'SUCCESS'));
    await s3Client().send(new PutObjectCommand({ Bucket: config.imagesBucket(), Key: 'images/img-running/file.gz', Body: 'partial' }));

    // Act
    const ended = await failInterruptedBuilds();

    // Assess
    expect(ended).toBe(2);
    for (const [imageId, jobId] of [
      ['img-running', 'job-running'],
      ['img-init', 'job-init'],
    ]) {
      expect(await imageRepository().get(imageId)).toMatchObject({ state: 'failed', error: { code: 'Interrupted' } });
      expect(await jobRepository().get(jobId)).toMatchObject({ status: 'FAIL', error_code: 'Interrupted' });
    }
    expect((await imageRepository().get('img-done'))?.state).toBe('active');
    expect((await jobRepository().get('job-done'))?.status).toBe('SUCCESS');
    const left = await s3Client().send(new ListObjectsV2Command({ Bucket: config.imagesBucket(), Prefix: 'images/img-running/' }));
    expect(left.Contents ?? []).toHaveLength(0);
    expect(await failInterruptedBuilds()).toBe(0);
  });

  it('ends an export the workflow was running: its destination removed, its job FAIL, the exported image and its file untouched', async () => {
    // Prepare: an active image with its file, and an export of it left RUNNING with a partial destination
    await imageRepository().create(image('img-exported', 'active'));
    await s3Client().send(new PutObjectCommand({ Bucket: config.imagesBucket(), Key: 'images/img-exported/file', Body: 'the image' }));
    await jobRepository().create({
      ...job('job-export', 'img-exported', 'RUNNING'),
      type: 'ExportImage',
      entities: { image_id: 'img-exported', destination: 'bkt:out/disk.qcow2' },
    });
    await s3Client().send(
      new PutObjectCommand({ Bucket: config.imagesBucket(), Key: 'user-buckets/o/bkt/out/disk.qcow2', Body: 'partial' }),
    );

    // Act
    expect(await failInterruptedBuilds()).toBe(1);

    // Assess
    expect(await jobRepository().get('job-export')).toMatchObject({ status: 'FAIL', error_code: 'Interrupted' });
    expect((await imageRepository().get('img-exported'))?.state).toBe('active');
    const keys = async (Prefix: string) =>
      ((await s3Client().send(new ListObjectsV2Command({ Bucket: config.imagesBucket(), Prefix }))).Contents ?? []).map((o) => o.Key);
    expect(await keys('user-buckets/o/')).toEqual([]);
    expect(await keys('images/img-exported/')).toEqual(['images/img-exported/file']);
  });
});
