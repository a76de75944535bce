/** CreateMachine, stop/start, DeleteMachine and the ListMachines page: the core with in-memory ports. */
import { changeMachineState, createMachine, deleteMachine, listMachinesPage } from '../../../lambdas/core/use-cases/machine-lifecycle';
import { InvalidParameterError, NotFoundError, ServiceUnavailableError, StateConflictError } from '../../../lambdas/core/errors';
import type { Image } from '../../../lambdas/core/image';
import type { DiskProvisioner, ProvisionRequest, ProvisionStarter } from '../../../lambdas/core/ports';
import { completeProvisioning, failProvisioning } from '../../../lambdas/core/use-cases/provision-steps';
import { PACKAGES } from '../../../lambdas/core/package';
import { FakeImages, FakeMachines, fakeIds, fixedClock, machine } from '../../helpers/fakes';

const caller = { accountId: 'owner-1', login: 'alice', roles: [] };

class FakeDisks implements DiskProvisioner {
  written: string[] = [];
  removed: string[] = [];
  fail = false;
  async expandImage(_f: unknown, key: string) {
    if (this.fail) throw new Error('disk write failed');
    this.written.push(key);
    return 4096;
  }
  async removeDisk(key: string) {
    this.removed.push(key);
  }
}

class FakeProvision implements ProvisionStarter {
  started: ProvisionRequest[] = [];
  fail = false;
  async startProvision(request: ProvisionRequest) {
    if (this.fail) throw new Error('engine unavailable');
    this.started.push(request);
    return { executionArn: `arn:exec:${request.machineId}` };
  }
}

const image = (o: Partial<Image> = {}): Image => ({
  id: 'img-1',
  owner: 'someone',
  name: 'base',
  version: '1',
  acl: [],
  tags: {},
  requirements: {},
  os: 'smartos',
  type: 'zone-dataset',
  state: 'active',
  public: true,
  created_at: 't',
  updated_at: 't',
  files: [{ size: 1, sha1: 'a', sha256: 'b', compression: 'gzip', format: 'raw', key: 'images/img-1/file.gz' }],
  rev: 1,
  ...o,
});

async function setup(img = image()) {
  const images = new FakeImages();
  await images.create(img);
  const machines = new FakeMachines();
  const disks = new FakeDisks();
  const workflow = new FakeProvision();
  return { images, machines, disks, workflow, deps: { images, machines, disks, workflow, clock: fixedClock, ids: fakeIds } };
}

describe('CreateMachine (core)', () => {
  it('answers a provisioning machine of that image and package at once and starts the workflow for its new disk', async () => {
    const { deps, workflow, machines } = await setup();
    const m = await createMachine(deps)(caller, { image: 'img-1', package: 'g1-small', name: 'web' });
    expect(m).toMatchObject({
      name: 'web',
      state: 'provisioning',
      image: 'img-1',
      os: 'smartos',
      package: PACKAGES[0].id,
      owner: 'owner-1',
      disks: [],
    });
    expect(workflow.started).toEqual([
      {
        machineId: m.id,
        owner: 'owner-1',
        imageId: 'img-1',
        file: image().files[0],
        disk: { id: expect.any(String), key: expect.stringMatching(new RegExp(`^machines/${m.id}/disks/.+\\.raw$`)) },
      },
    ]);
    expect((await machines.get(m.id))?.state).toBe('provisioning');
  });

  it('refuses an unknown package, an invisible image and an inactive one with InvalidParameter', async () => {
    const { deps } = await setup(image({ public: false }));
    await expect(createMachine(deps)(caller, { image: 'img-1', package: 'nope' })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(createMachine(deps)(caller, { image: 'img-1', package: 'g1-small' })).rejects.toBeInstanceOf(InvalidParameterError);
    const creating = await setup(image({ state: 'creating' }));
    await expect(createMachine(creating.deps)(caller, { image: 'img-1', package: 'g1-small' })).rejects.toBeInstanceOf(
      InvalidParameterError,
    );
  });

  it('ends failed with the reason when the workflow cannot start', async () => {
    const { deps, workflow, machines } = await setup();
    workflow.fail = true;
    await expect(createMachine(deps)(caller, { image: 'img-1', package: 'g1-small' })).rejects.toBeInstanceOf(ServiceUnavailableError);
    const stored = [...machines.items.values()][0];
    expect(stored.state).toBe('failed');
    expect(stored.error).toEqual({ code: 'InternalError', message: expect.stringContaining('engine unavailable') });
  });
});

describe('provision steps (core)', () => {
  const disk = { id: 'd-1', boot: true, size: 4096, key: 'machines/m/disks/d-1.raw' };

  it('completes provisioning → running with the disk, and a replay changes nothing', async () => {
    const { machines } = await setup();
    await machines.create(machine({ state: 'provisioning', disks: [] }));
    const deps = { machines, clock: fixedClock };
    const done = await completeProvisioning(deps)(machine().id, disk);
    expect(done).toMatchObject({ state: 'running', disks: [disk] });
    const replay = await completeProvisioning(deps)(machine().id, disk);
    expect(replay.rev).toBe(done.rev);
  });

  it('fails provisioning with the reason; a machine that left provisioning is left alone', async () => {
    const { machines } = await setup();
    await machines.create(machine({ state: 'provisioning', disks: [] }));
    const deps = { machines, clock: fixedClock };
    await failProvisioning(deps)(machine().id, { code: 'SourceUnavailableError', message: 'gone' });
    expect(await machines.get(machine().id)).toMatchObject({ state: 'failed', error: { code: 'SourceUnavailableError', message: 'gone' } });
    await failProvisioning(deps)(machine().id, { code: 'Other', message: 'late replay' });
    expect((await machines.get(machine().id))?.error?.code).toBe('SourceUnavailableError');
    await expect(completeProvisioning(deps)(machine().id, disk)).rejects.toBeInstanceOf(StateConflictError);
  });
});

describe('machine actions and delete (core)', () => {
  it('stops a running machine and starts it again; repeating an action is a no-op', async () => {
    const { deps, machines } = await setup();
    await machines.create(machine({ state: 'running', owner: 'owner-1' }));
    const id = machine().id;
    expect((await changeMachineState(deps)(caller, id, 'stop')).state).toBe('stopped');
    expect((await changeMachineState(deps)(caller, id, 'stop')).state).toBe('stopped');
    expect((await changeMachineState(deps)(caller, id, 'start')).state).toBe('running');
  });

  it('refuses actions on a provisioning machine and hides others’ machines', async () => {
    const { deps, machines } = await setup();
    await machines.create(machine({ state: 'provisioning', owner: 'owner-1' }));
    await expect(changeMachineState(deps)(caller, machine().id, 'stop')).rejects.toBeInstanceOf(StateConflictError);
    await expect(changeMachineState(deps)({ ...caller, accountId: 'other' }, machine().id, 'stop')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes: tombstone first, then the disks; the machine is gone from reads and lists', async () => {
    const { deps, machines, disks } = await setup();
    await machines.create(machine({ state: 'stopped', owner: 'owner-1' }));
    await deleteMachine(deps)(caller, machine().id);
    expect(disks.removed).toEqual(machine().disks.map((d) => d.key));
    expect((await listMachinesPage(deps)(caller, { limit: 10, offset: 0 })).total).toBe(0);
  });

  it('lists with filters, offset and a total', async () => {
    const { deps, machines } = await setup();
    for (let i = 0; i < 5; i++)
      await machines.create(machine({ id: `m-${i}`, name: `n${i}`, owner: 'owner-1', state: i % 2 ? 'running' : 'stopped' }));
    const page = await listMachinesPage(deps)(caller, { limit: 2, offset: 1, state: 'stopped' });
    expect(page.total).toBe(3);
    expect(page.items.map((m) => m.name)).toEqual(['n2', 'n4']);
    expect((await listMachinesPage(deps)(caller, { limit: 10, offset: 0, name: 'n3' })).items).toHaveLength(1);
  });
});
