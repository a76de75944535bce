import { createImageFromMachine } from '../../../lambdas/core/use-cases/create-image-from-machine';
import { InvalidParameterError, MachineNotStoppedError, ServiceUnavailableError } from '../../../lambdas/core/errors';
import { FakeImages, FakeJobs, FakeMachines, FakeWorkflow, fakeIds, fixedClock, machine } from '../../helpers/fakes';

const caller = { accountId: 'owner-1', login: 'alice', roles: [] };

function setup() {
  const deps = {
    images: new FakeImages(),
    jobs: new FakeJobs(),
    machines: new FakeMachines(),
    workflow: new FakeWorkflow(),
    clock: fixedClock,
    ids: fakeIds,
  };
  return { deps, create: createImageFromMachine(deps) };
}

describe('CreateImageFromMachine (core)', () => {
  it('records a creating image and an INIT job, and starts the build with the boot disk', async () => {
    const { deps, create } = setup();
    await deps.machines.create(machine());

    const { image, job } = await create(caller, { machine: machine().id, name: 'img', version: '1.0.0' });

    expect(image).toMatchObject({
      state: 'creating',
      owner: 'owner-1',
      public: false,
      os: 'linux',
      type: 'lx-dataset',
      origin: machine().image,
      files: [],
    });
    expect((await deps.images.get(image.id))?.state).toBe('creating');
    expect(job).toMatchObject({ status: 'INIT', progress: 0, entities: { image_id: image.id, machine_id: machine().id } });
    expect(job.execution_arn).toContain(job.id);
    expect(deps.workflow.started).toEqual([
      {
        jobId: job.id,
        imageId: image.id,
        owner: 'owner-1',
        source: {
          kind: 'machine',
          bucket: 'disks',
          key: 'machines/m/disks/d1.raw',
          size: 1024,
          label: `source disk of machine ${machine().id}`,
        },
        target: { format: 'raw', compression: 'gzip' },
      },
    ]);
  });

  it("refuses another account's machine with InvalidParameter and writes nothing", async () => {
    const { deps, create } = setup();
    await deps.machines.create(machine({ owner: 'someone-else' }));
    await expect(create(caller, { machine: machine().id, name: 'img', version: '1' })).rejects.toBeInstanceOf(InvalidParameterError);
    expect(deps.images.items.size).toBe(0);
    expect(deps.jobs.items.size).toBe(0);
  });

  it('refuses an unknown machine with InvalidParameter', async () => {
    const { create } = setup();
    await expect(create(caller, { machine: 'nope', name: 'img', version: '1' })).rejects.toBeInstanceOf(InvalidParameterError);
  });

  it('refuses a running machine with MachineNotStopped', async () => {
    const { deps, create } = setup();
    await deps.machines.create(machine({ state: 'running' }));
    await expect(create(caller, { machine: machine().id, name: 'img', version: '1' })).rejects.toBeInstanceOf(MachineNotStoppedError);
    expect(deps.images.items.size).toBe(0);
  });

  it('marks the image failed and the job FAIL when the workflow cannot start', async () => {
    const { deps, create } = setup();
    await deps.machines.create(machine());
    deps.workflow.failWith = new Error('throttled');

    await expect(create(caller, { machine: machine().id, name: 'img', version: '1' })).rejects.toBeInstanceOf(ServiceUnavailableError);

    const [image] = [...deps.images.items.values()];
    const [job] = [...deps.jobs.items.values()];
    expect(image.state).toBe('failed');
    expect(image.error?.message).toMatch(/throttled/);
    expect(job.status).toBe('FAIL');
  });
});
