import { beginBuild, completeBuild, endFailedBuild, failBuild } from '../../../lambdas/core/use-cases/build-steps';
import { StateConflictError } from '../../../lambdas/core/errors';
import type { Image, ImageFile } from '../../../lambdas/core/image';
import type { Job } from '../../../lambdas/core/job';
import { FakeImages, FakeJobs, fixedClock } from '../../helpers/fakes';

const file: ImageFile = {
  size: 10,
  sha1: 'a'.repeat(40),
  sha256: 'b'.repeat(64),
  compression: 'gzip',
  format: 'raw',
  key: 'images/i/file.gz',
};

async function setup(imageState: Image['state'] = 'creating', jobStatus: Job['status'] = 'INIT') {
  const images = new FakeImages();
  const jobs = new FakeJobs();
  await images.create({
    id: 'i',
    owner: 'o',
    name: 'n',
    version: '1',
    acl: [],
    tags: {},
    requirements: {},
    os: 'linux',
    type: 'lx-dataset',
    state: imageState,
    public: false,
    created_at: 't',
    updated_at: 't',
    files: [],
    rev: 1,
  });
  await jobs.create({
    id: 'j',
    owner: 'o',
    type: 'CreateImageFromMachine',
    status: jobStatus,
    progress: 0,
    entities: { image_id: 'i' },
    created_at: 't',
    rev: 1,
  });
  const deps = { images, jobs, clock: fixedClock };
  return { images, jobs, deps };
}

describe('build steps', () => {
  it('begins once: INIT → RUNNING, and a replay is a no-op', async () => {
    const { jobs, deps } = await setup();
    await beginBuild(deps)('j', 'i', 'PrepareSource');
    const again = await beginBuild(deps)('j', 'i', 'PrepareSource');
    expect(again.status).toBe('RUNNING');
    expect((await jobs.get('j'))?.rev).toBe(2);
  });

  it('refuses to begin when the image already left creating (deleted meanwhile)', async () => {
    const { deps } = await setup('failed');
    await expect(beginBuild(deps)('j', 'i', 'PrepareSource')).rejects.toBeInstanceOf(StateConflictError);
  });

  it('completes: image active with its file and published_at, job SUCCESS at 100; a replay succeeds without writing', async () => {
    const { images, jobs, deps } = await setup('creating', 'RUNNING');
    await completeBuild(deps)('j', 'i', file);
    await completeBuild(deps)('j', 'i', file);
    const image = await images.get('i');
    expect(image).toMatchObject({ state: 'active', files: [file], published_at: fixedClock.now().toISOString(), rev: 2 });
    expect(await jobs.get('j')).toMatchObject({ status: 'SUCCESS', progress: 100, rev: 2 });
  });

  it('will not complete an image that failed meanwhile', async () => {
    const { deps } = await setup('failed', 'RUNNING');
    await expect(completeBuild(deps)('j', 'i', file)).rejects.toBeInstanceOf(StateConflictError);
  });

  it('fails: image failed with the error, job FAIL with code and reason; idempotent', async () => {
    const { images, jobs, deps } = await setup('creating', 'RUNNING');
    await failBuild(deps)('j', 'i', { code: 'SourceUnavailableError', message: 'gone' });
    await failBuild(deps)('j', 'i', { code: 'SourceUnavailableError', message: 'gone' });
    expect(await images.get('i')).toMatchObject({ state: 'failed', error: { code: 'SourceUnavailableError', message: 'gone' }, rev: 2 });
    expect(await jobs.get('j')).toMatchObject({ status: 'FAIL', error_code: 'SourceUnavailableError', fail_reason: 'gone', rev: 2 });
  });

  it('does not touch an image that is already active when failing', async () => {
    const { images, deps } = await setup('active', 'SUCCESS');
    await failBuild(deps)('j', 'i', { code: 'X', message: 'late' });
    expect((await images.get('i'))?.state).toBe('active');
  });
});

describe('endFailedBuild (the one failure use case)', () => {
  const removal = () => {
    const removed: string[] = [];
    return { removed, removeImageFiles: async (imageId: string) => void removed.push(imageId) };
  };

  it('empties the prefix, fails the image and the job; a replay changes nothing more', async () => {
    const { images, jobs, deps } = await setup('creating', 'RUNNING');
    const files = removal();
    const end = endFailedBuild({ ...deps, removeImageFiles: files.removeImageFiles });
    expect(await end('j', 'i', { code: 'Aborted', message: 'stopped' })).toBe('ended');
    expect(await end('j', 'i', { code: 'Timeout', message: 'later' })).toBe('ended');
    expect(files.removed).toEqual(['i', 'i']); // removal itself is idempotent
    expect(await images.get('i')).toMatchObject({ state: 'failed', error: { code: 'Aborted', message: 'stopped' }, rev: 2 });
    expect(await jobs.get('j')).toMatchObject({ status: 'FAIL', error_code: 'Aborted', rev: 2 });
  });

  it('never removes the file of an image that finished, nor touches its job', async () => {
    const { images, jobs, deps } = await setup('active', 'SUCCESS');
    const files = removal();
    expect(
      await endFailedBuild({ ...deps, removeImageFiles: files.removeImageFiles })('j', 'i', { code: 'X', message: 'late event' }),
    ).toBe('finished');
    expect(files.removed).toEqual([]);
    expect((await images.get('i'))?.state).toBe('active');
    expect((await jobs.get('j'))?.status).toBe('SUCCESS');
  });

  it('cleans up after an image deleted meanwhile, and fails its job', async () => {
    const { images, jobs, deps } = await setup('creating', 'INIT');
    images.items.delete('i');
    const files = removal();
    expect(
      await endFailedBuild({ ...deps, removeImageFiles: files.removeImageFiles })('j', 'i', { code: 'Aborted', message: 'stopped' }),
    ).toBe('ended');
    expect(files.removed).toEqual(['i']);
    expect((await jobs.get('j'))?.status).toBe('FAIL');
  });

  it('leaves a cancelled job cancelled', async () => {
    const { jobs, deps } = await setup('creating', 'CANCELLED');
    await endFailedBuild({ ...deps, removeImageFiles: removal().removeImageFiles })('j', 'i', { code: 'Aborted', message: 'stopped' });
    expect((await jobs.get('j'))?.status).toBe('CANCELLED');
  });
});
