/** In-memory ports for unit tests of the core (no network). They enforce the same conditions the adapters do. */
import { NotFoundError, StateConflictError } from '../../lambdas/core/errors';
import type { Image, ImageState, MemberStatus } from '../../lambdas/core/image';
import { appendJobHistory, type Job, type JobHistoryEntry, type JobStatus } from '../../lambdas/core/job';
import type { Machine, MachineState } from '../../lambdas/core/machine';
import type {
  BuildRequest,
  ImageRepository,
  ImageSource,
  ImageSourcePage,
  JobRepository,
  MachineRepository,
  Page,
  WorkflowStarter,
  WorkflowStopper,
} from '../../lambdas/core/ports';
import type { ImageFilter } from '../../lambdas/core/image-filter';

const clone = <T>(v: T): T => structuredClone(v);

export class FakeImages implements ImageRepository {
  items = new Map<string, Image>();
  async create(image: Image) {
    if (this.items.has(image.id)) throw new StateConflictError('exists');
    await this.claimName(image.owner, image.name, image.id, { exclusive: false });
    this.items.set(image.id, clone(image));
  }
  /** Name records: `${owner}|${name}` → holder image ids (as the adapter's string sets). */
  names = new Map<string, Set<string>>();
  async claimName(owner: string, name: string, imageId: string, opts: { exclusive: boolean }) {
    const holders = this.names.get(`${owner}|${name}`) ?? new Set<string>();
    const live = [...holders].filter((id) => id !== imageId && this.items.get(id)?.state !== 'deleted');
    if (opts.exclusive && live.length) return false;
    this.names.set(`${owner}|${name}`, holders.add(imageId));
    return true;
  }
  async releaseName(owner: string, name: string, imageId: string) {
    const holders = this.names.get(`${owner}|${name}`);
    holders?.delete(imageId);
    if (holders && !holders.size) this.names.delete(`${owner}|${name}`);
  }
  async get(id: string) {
    const i = this.items.get(id);
    return i && clone(i);
  }
  async update(id: string, expect: { states: ImageState[]; rev?: number }, changes: Partial<Image>) {
    const cur = this.items.get(id);
    if (!cur) throw new NotFoundError('image not found');
    if (!expect.states.includes(cur.state) || (expect.rev !== undefined && expect.rev !== cur.rev))
      throw new StateConflictError(`image is ${cur.state}`, cur.state);
    const next = { ...cur, ...clone(changes), rev: cur.rev + 1 };
    this.items.set(id, next);
    return clone(next);
  }
  async listByOwner(owner: string): Promise<Page<Image>> {
    return { items: [...this.items.values()].filter((i) => i.owner === owner).map(clone) };
  }
  /** Acl entry items: `${imageId}|${account}` (the shared-with index). */
  aclEntries = new Set<string>();
  /** A sharee's answer per acl entry (absent: pending). */
  memberStatus = new Map<string, MemberStatus>();
  /** Every listSource call, for assertions on which sources were read. */
  sourceCalls: { source: ImageSource; after?: string }[] = [];
  async listSource(
    source: ImageSource,
    account: string,
    opts: { after?: string; limit: number; filter: ImageFilter },
  ): Promise<ImageSourcePage> {
    this.sourceCalls.push({ source, after: opts.after });
    const key = (i: Image) => `${i.created_at}#${i.id}`;
    const all = [...this.items.values()]
      .filter((i) =>
        source === 'owned'
          ? i.owner === account
          : source === 'public'
            ? i.public
            : this.aclEntries.has(`${i.id}|${account}`) &&
              (this.memberStatus.get(`${i.id}|${account}`) ?? 'pending') === (opts.filter.memberStatus ?? 'accepted'),
      )
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
      .filter((i) => opts.after === undefined || key(i) > opts.after);
    const page = all.slice(0, opts.limit);
    const exhausted = page.length === all.length;
    return {
      items: page.map((i) => ({ image: clone(i), sortKey: key(i) })),
      lastKey: exhausted ? undefined : key(page[page.length - 1]),
      exhausted,
    };
  }
  async addAclEntries(imageId: string, accounts: string[]) {
    for (const a of accounts) this.aclEntries.add(`${imageId}|${a}`);
  }
  async setMemberStatus(imageId: string, account: string, status: MemberStatus) {
    if (!this.aclEntries.has(`${imageId}|${account}`)) throw new NotFoundError('image not found');
    this.memberStatus.set(`${imageId}|${account}`, status);
  }
  async removeAclEntries(imageId: string, accounts: string[] | 'all') {
    for (const e of [...this.aclEntries]) {
      const [id, a] = e.split('|');
      if (id === imageId && (accounts === 'all' || accounts.includes(a))) {
        this.aclEntries.delete(e);
        this.memberStatus.delete(e);
      }
    }
  }
}

export class FakeJobs implements JobRepository {
  items = new Map<string, Job>();
  async create(job: Job) {
    if (this.items.has(job.id)) throw new StateConflictError('exists');
    this.items.set(job.id, clone(job));
  }
  async get(id: string) {
    const j = this.items.get(id);
    return j && clone(j);
  }
  async update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Job>) {
    const cur = this.items.get(id);
    if (!cur) throw new NotFoundError('job not found');
    if (!expect.statuses.includes(cur.status)) throw new StateConflictError(`job is ${cur.status}`, cur.status);
    const next = { ...cur, ...clone(changes), rev: cur.rev + 1 };
    this.items.set(id, next);
    return clone(next);
  }
  /** Per-unit high-water marks, as the DynamoDB adapter keeps them in the job item (`work_units`). */
  units = new Map<string, number>();
  async addWork(id: string, work: { unit: number; done: number }) {
    const cur = this.items.get(id);
    if (!cur) throw new NotFoundError('job not found');
    if (cur.status !== 'RUNNING') throw new StateConflictError(`job is ${cur.status}`, cur.status);
    const key = `${id}#${work.unit}`;
    const prev = this.units.get(key) ?? 0;
    if (work.done > prev) {
      this.units.set(key, work.done);
      cur.work_done = (cur.work_done ?? 0) + work.done - prev;
    }
    return clone(cur);
  }
  async raiseProgress(id: string, changes: { progress: number; eta?: string; phase?: string }) {
    const cur = this.items.get(id);
    if (cur?.status !== 'RUNNING' || cur.progress >= changes.progress) return false;
    Object.assign(cur, clone(changes), { rev: cur.rev + 1 });
    return true;
  }
  async recordHistory(id: string, entry: JobHistoryEntry) {
    const cur = this.items.get(id);
    if (!cur) throw new NotFoundError('job not found');
    if (cur.status !== 'INIT' && cur.status !== 'RUNNING') throw new StateConflictError(`job is ${cur.status}`, cur.status);
    const history = appendJobHistory(cur.history, clone(entry));
    if (!history) return false;
    Object.assign(cur, { history, rev: cur.rev + 1 });
    return true;
  }
}

export class FakeMachines implements MachineRepository {
  items = new Map<string, Machine>();
  async create(m: Machine) {
    this.items.set(m.id, clone(m));
  }
  async get(id: string) {
    const m = this.items.get(id);
    return m && clone(m);
  }
  async update(id: string, expect: { states: MachineState[] }, changes: Partial<Machine>) {
    const cur = this.items.get(id);
    if (!cur || !expect.states.includes(cur.state)) throw new StateConflictError('machine state');
    const next = { ...cur, ...changes, rev: cur.rev + 1 };
    this.items.set(id, next);
    return clone(next);
  }
  async listByOwner(owner: string): Promise<Page<Machine>> {
    return { items: [...this.items.values()].filter((m) => m.owner === owner) };
  }
}

export class FakeWorkflow implements WorkflowStarter {
  started: BuildRequest[] = [];
  failWith?: Error;
  async startBuild(request: BuildRequest) {
    if (this.failWith) throw this.failWith;
    this.started.push(request);
    return { executionArn: `arn:aws:states:us-east-1:0:execution:BuildImage:${request.jobId}` };
  }
}

/** Records StopExecution calls; `failWith` makes them throw (an engine that cannot be reached). */
export class FakeStopper implements WorkflowStopper {
  stopped: { executionArn: string; error: string; cause: string }[] = [];
  failWith?: Error;
  async stop(executionArn: string, reason: { error: string; cause: string }) {
    if (this.failWith) throw this.failWith;
    this.stopped.push({ executionArn, ...reason });
  }
}

let n = 0;
export const fakeIds = { uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` };
export const fixedClock = { now: () => new Date('2026-11-23T12:00:00.000Z') };

export function machine(overrides: Partial<Machine> = {}): Machine {
  return {
    id: 'aaaaaaaa-0000-4000-8000-000000000001',
    owner: 'owner-1',
    name: 'web',
    state: 'stopped',
    os: 'linux',
    type: 'lx-dataset',
    image: 'bbbbbbbb-0000-4000-8000-000000000001',
    disks: [{ id: 'd1', boot: true, size: 1024, key: 'machines/m/disks/d1.raw' }],
    created_at: '2026-11-01T00:00:00.000Z',
    updated_at: '2026-11-01T00:00:00.000Z',
    rev: 1,
    ...overrides,
  };
}
