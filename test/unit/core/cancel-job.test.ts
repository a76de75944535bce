/** Cancel (core): the image, the job and the execution, in that order, each a conditional write; DeleteImage of a creating image. */
import { CANCELLED, cancelJob } from '../../../lambdas/core/use-cases/cancel-job';
import { deleteImage } from '../../../lambdas/core/use-cases/delete-image';
import { failBuild } from '../../../lambdas/core/use-cases/build-steps';
import { NotFoundError, StateConflictError } from '../../../lambdas/core/errors';
import type { Image } from '../../../lambdas/core/image';
import type { Job } from '../../../lambdas/core/job';
import type { ImageFileStore } from '../../../lambdas/core/ports';
import { FakeImages, FakeJobs, FakeStopper, fixedClock } from '../../helpers/fakes';

const owner = { accountId: 'acct-1', login: 'alice', roles: [] };
const ARN = 'arn:aws:states:us-east-1:0:execution:BuildImage:job-1';

class RecordingFiles implements ImageFileStore {
  removed: string[] = [];
  async copyFile(): Promise<never> {
    throw new Error('not used');
  }
  async removeFiles(id: string) {
    this.removed.push(id);
  }
  async exportFile(): Promise<never> {
    throw new Error('not used');
  }
}

const image = (o: Partial<Image> = {}): Image => ({
  id: 'img-1',
  owner: 'acct-1',
  name: 'n',
  version: '1',
  acl: [],
  tags: {},
  requirements: {},
  os: 'linux',
  type: 'lx-dataset',
  state: 'creating',
  public: false,
  created_at: 't',
  updated_at: 't',
  files: [],
  job_id: 'job-1',
  rev: 1,
  ...o,
});
const job = (o: Partial<Job> = {}): Job => ({
  id: 'job-1',
  owner: 'acct-1',
  type: 'CreateImageFromMachine',
  status: 'RUNNING',
  progress: 40,
  entities: { image_id: 'img-1' },
  created_at: 't',
  execution_arn: ARN,
  rev: 3,
  ...o,
});

async function setup(img = image(), j = job()) {
  const images = new FakeImages();
  await images.create(img);
  const jobs = new FakeJobs();
  await jobs.create(j);
  const files = new RecordingFiles();
  const workflow = new FakeStopper();
  return { images, jobs, files, workflow, deps: { images, jobs, files, workflow, clock: fixedClock } };
}

describe('cancelJob (core)', () => {
  it('fails the image as Cancelled, ends the job CANCELLED, stops the execution and removes the files', async () => {
    const { deps, images, workflow, files } = await setup();
    const out = await cancelJob(deps)(owner, 'job-1');
    expect(out).toMatchObject({ status: 'CANCELLED', error_code: 'Cancelled', end_time: fixedClock.now().toISOString() });
    expect(await images.get('img-1')).toMatchObject({ state: 'failed', error: CANCELLED });
    expect(workflow.stopped).toEqual([{ executionArn: ARN, error: 'Cancelled', cause: expect.any(String) }]);
    expect(files.removed).toEqual(['img-1']);
  });

  it('cancels an INIT job too, and still cancels when the engine cannot be reached (the writes already stop the work)', async () => {
    const { deps, workflow, jobs } = await setup(image(), job({ status: 'INIT' }));
    workflow.failWith = new Error('throttled');
    expect((await cancelJob(deps)(owner, 'job-1')).status).toBe('CANCELLED');
    expect((await jobs.get('job-1'))?.status).toBe('CANCELLED');
  });

  it.each(['SUCCESS', 'FAIL', 'CANCELLED'] as const)('refuses a %s job with StateConflict and changes nothing', async (status) => {
    const { deps, images, workflow } = await setup(image({ state: status === 'SUCCESS' ? 'active' : 'failed' }), job({ status }));
    await expect(cancelJob(deps)(owner, 'job-1')).rejects.toBeInstanceOf(StateConflictError);
    expect((await images.get('img-1'))?.error).toBeUndefined();
    expect(workflow.stopped).toEqual([]);
  });

  it('refuses once Finalize made the image active, even if the job is not SUCCESS yet', async () => {
    const { deps, jobs, workflow } = await setup(image({ state: 'active' }));
    await expect(cancelJob(deps)(owner, 'job-1')).rejects.toBeInstanceOf(StateConflictError);
    expect((await jobs.get('job-1'))?.status).toBe('RUNNING');
    expect(workflow.stopped).toEqual([]);
  });

  it('answers 404 for another account’s job or none', async () => {
    const { deps } = await setup();
    await expect(cancelJob(deps)({ ...owner, accountId: 'other' }, 'job-1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancelJob(deps)(owner, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('leaves the cancelled state alone when the workflow’s MarkFailed runs afterwards', async () => {
    const { deps, images, jobs } = await setup();
    await cancelJob(deps)(owner, 'job-1');
    await failBuild({ images, jobs, clock: fixedClock })('job-1', 'img-1', { code: 'BuildConflictError', message: 'late' });
    expect(await images.get('img-1')).toMatchObject({ state: 'failed', error: CANCELLED });
    expect((await jobs.get('job-1'))?.status).toBe('CANCELLED');
  });
});

describe('DeleteImage of a creating image (core)', () => {
  it('tombstones the image, cancels its job, stops its execution, then removes the files', async () => {
    const { deps, images, jobs, workflow, files } = await setup();
    await deleteImage(deps)(owner, 'img-1');
    expect((await images.get('img-1'))?.state).toBe('deleted');
    expect((await jobs.get('job-1'))?.status).toBe('CANCELLED');
    expect(workflow.stopped.map((s) => s.executionArn)).toEqual([ARN]);
    expect(files.removed).toEqual(['img-1']);
  });

  it('touches no job for an active image', async () => {
    const { deps, jobs, workflow } = await setup(image({ state: 'active' }), job({ status: 'SUCCESS' }));
    await deleteImage(deps)(owner, 'img-1');
    expect((await jobs.get('job-1'))?.status).toBe('SUCCESS');
    expect(workflow.stopped).toEqual([]);
  });
});
