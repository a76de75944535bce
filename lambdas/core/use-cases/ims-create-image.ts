/**
 * The IMS create-image forms (`POST /v2/cloudimages/action`), as core use cases on top of the shared
 * create path (start-image-build.ts, and create-image-from-machine.ts for machine disks):
 *
 * - from a machine: a system image of its boot disk and/or a data-disk image per listed data disk;
 * - from a bucket object ("the caller's bucket", see user-bucket.ts): format detected by the build;
 * - from a volume (a machine's disk): a system image of that disk.
 *
 * One request may create several images. Each image has its own job and workflow execution (the
 * build workflow stays one image → one file); the first image's job is the one the caller gets,
 * and it lists the others in `entities.sub_job_ids`, which the job read aggregates (getJobFamily).
 * The parent is written first, knowing its children's ids, so the family is linked from the start;
 * a child that could not start is recorded as a FAIL sub-job rather than failing the request.
 *
 * Image names are unique per account (IMS IMG.0009): each name is claimed by a conditional write on
 * its name record before anything is created (docs/decisions/name-uniqueness.md).
 */
import type { Principal } from '../account';
import { InvalidParameterError, ServiceError } from '../errors';
import type { Image, TagValue } from '../image';
import type { Job } from '../job';
import type { Machine, MachineDisk } from '../machine';
import type { BuildSource, BuildTarget, MachineRepository } from '../ports';
import { describeBucketObject, userBucketKey, type BucketObjectRef } from '../user-bucket';
import { createImageFromCheckedMachine, machineForImage, type CreateImageDeps } from './create-image-from-machine';
import { startImageBuild } from './start-image-build';

/** IMS images carry no version; the core's manifest needs one. */
export const IMS_IMAGE_VERSION = '1.0.0';

export interface ImageAttributes {
  name: string;
  description?: string;
  tags?: Record<string, TagValue>;
  requirements?: Image['requirements'];
  os_version?: string;
  /** linux | windows | other */
  os?: string;
}

export type ImsCreateCommand =
  | { form: 'machine'; machine: string; system?: ImageAttributes; dataImages: (ImageAttributes & { volume: string })[] }
  | { form: 'dataVolumes'; dataImages: (ImageAttributes & { volume: string })[] }
  | {
      form: 'bucketObject';
      object: BucketObjectRef;
      system: ImageAttributes & { minDiskGiB: number };
      dataImages: (ImageAttributes & { object: BucketObjectRef; minDiskGiB: number })[];
    }
  | { form: 'volume'; volume: string; system: ImageAttributes };

const PAGE = 1000;

const nameTaken = (names: string[]) =>
  new InvalidParameterError(
    `an image named ${names.map((n) => JSON.stringify(n)).join(', ')} already exists`,
    names.map(() => ({ field: 'name', code: 'Invalid' as const, message: 'an image with this name already exists' })),
  );

/**
 * Claims every name for its image id, exclusively (one conditional write each, O(1) in the owner's
 * images); on a name already held, releases what it claimed and refuses (IMG.0009).
 */
async function claimNames(deps: Pick<CreateImageDeps, 'images'>, owner: string, names: string[], imageIds: string[]): Promise<void> {
  const dupes = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (dupes.length) throw nameTaken(dupes);
  const claimed: number[] = [];
  for (let i = 0; i < names.length; i++) {
    if (!(await deps.images.claimName(owner, names[i], imageIds[i], { exclusive: true }))) {
      await releaseUnbuilt(
        deps,
        owner,
        claimed.map((j) => ({ name: names[j], imageId: imageIds[j] })),
      );
      throw nameTaken([names[i]]);
    }
    claimed.push(i);
  }
}

/** Compensation: the claims of images that were never written go (an image written holds its name). */
async function releaseUnbuilt(
  deps: Pick<CreateImageDeps, 'images'>,
  owner: string,
  claims: { name: string; imageId: string }[],
): Promise<void> {
  for (const c of claims) {
    if (!(await deps.images.get(c.imageId))) await deps.images.releaseName(owner, c.name, c.imageId);
  }
}

/** A machine disk by id among the caller's machines (a Query of the owner's machines, never a Scan). */
export async function findVolume(
  machines: MachineRepository,
  caller: Principal,
  volumeId: string,
): Promise<{ machine: Machine; disk: MachineDisk }> {
  let cursor: string | undefined;
  do {
    const page = await machines.listByOwner(caller.accountId, { limit: PAGE, cursor });
    for (const machine of page.items) {
      if (machine.state === 'deleted') continue;
      const disk = machine.disks.find((d) => d.id === volumeId);
      if (disk) return { machine, disk };
    }
    cursor = page.cursor;
  } while (cursor);
  throw new InvalidParameterError(`volume ${volumeId} does not exist or is not yours`, [
    { field: 'volume', code: 'Invalid', message: 'no such volume for this account' },
  ]);
}

const imageFields = (a: ImageAttributes) => ({
  name: a.name,
  ...(a.description !== undefined && { description: a.description }),
  tags: a.tags ?? {},
  requirements: a.requirements ?? {},
  ...(a.os_version !== undefined && { os_version: a.os_version }),
});

/** Starts one build per image: the first is the parent, the rest its sub-jobs. */
async function startFamily(
  deps: CreateImageDeps,
  owner: string,
  names: string[],
  starts: ((preset: { imageId: string; jobId: string; entities?: { sub_job_ids?: string[] } }) => Promise<{ image: Image; job: Job }>)[],
): Promise<Job> {
  const presets = starts.map(() => ({ imageId: deps.ids.uuid(), jobId: deps.ids.uuid() }));
  await claimNames(
    deps,
    owner,
    names,
    presets.map((p) => p.imageId),
  );
  const claims = presets.map((p, i) => ({ name: names[i], imageId: p.imageId }));
  const subIds = presets.slice(1).map((p) => p.jobId);
  let parent: { job: Job };
  try {
    parent = await starts[0]({ ...presets[0], ...(subIds.length && { entities: { sub_job_ids: subIds } }) });
  } catch (err) {
    await releaseUnbuilt(deps, owner, claims).catch(() => undefined);
    throw err;
  }
  for (let i = 1; i < starts.length; i++) {
    // A sub-job that cannot start is recorded FAIL by the shared create path (or absent, which the
    // job read reports as failed); the parent job still answers for the whole request.
    await starts[i](presets[i]).catch(async (err) => {
      await releaseUnbuilt(deps, owner, [claims[i]]).catch(() => undefined);
      if (!(err instanceof ServiceError)) throw err;
    });
  }
  return parent.job;
}

export const createImsImage =
  (deps: CreateImageDeps) =>
  async (caller: Principal, cmd: ImsCreateCommand): Promise<Job> => {
    const names = [
      ...('system' in cmd && cmd.system ? [cmd.system.name] : []),
      ...('dataImages' in cmd ? cmd.dataImages.map((d) => d.name) : []),
    ];

    switch (cmd.form) {
      case 'machine': {
        const machine = await machineForImage(deps)(caller, cmd.machine);
        for (const d of cmd.dataImages) {
          if (!machine.disks.some((disk) => disk.id === d.volume && !disk.boot)) {
            throw new InvalidParameterError(`volume ${d.volume} is not a data disk of machine ${machine.id}`, [
              { field: 'volume', code: 'Invalid', message: 'no such data disk on this machine' },
            ]);
          }
        }
        const fromMachine = createImageFromCheckedMachine(deps);
        const common = { version: IMS_IMAGE_VERSION, compression: 'none' as const };
        const starts = [
          ...(cmd.system
            ? [
                (p: Parameters<typeof fromMachine>[3]) =>
                  fromMachine(caller, machine, { ...common, machine: machine.id, ...imageFields(cmd.system!) }, p),
              ]
            : []),
          ...cmd.dataImages.map(
            (d) => (p: Parameters<typeof fromMachine>[3]) =>
              fromMachine(caller, machine, { ...common, machine: machine.id, ...imageFields(d), disk: d.volume }, p),
          ),
        ];
        return startFamily(deps, caller.accountId, names, starts as never);
      }
      case 'dataVolumes': {
        const found: Machine[] = [];
        for (const d of cmd.dataImages) {
          const { machine } = await findVolume(deps.machines, caller, d.volume);
          found.push(await machineForImage(deps)(caller, machine.id));
        }
        const fromMachine = createImageFromCheckedMachine(deps);
        return startFamily(
          deps,
          caller.accountId,
          names,
          cmd.dataImages.map(
            (d, i) => (p) =>
              fromMachine(
                caller,
                found[i],
                { machine: found[i].id, version: IMS_IMAGE_VERSION, compression: 'none', ...imageFields(d), disk: d.volume },
                p,
              ),
          ),
        );
      }
      case 'volume': {
        const { machine, disk } = await findVolume(deps.machines, caller, cmd.volume);
        await machineForImage(deps)(caller, machine.id);
        const source: BuildSource = { kind: 'volume', bucket: 'disks', key: disk.key, size: disk.size, label: `volume ${disk.id}` };
        return startFamily(deps, caller.accountId, names, [
          (p) =>
            startImageBuild(deps)(
              {
                owner: caller.accountId,
                image: {
                  ...imageFields(cmd.system),
                  version: IMS_IMAGE_VERSION,
                  os: cmd.system.os ?? machine.os,
                  type: 'zvol',
                  origin: machine.image,
                  made_from: { kind: 'volume', id: disk.id },
                },
                jobType: 'CreateImageFromVolume',
                entities: { volume_id: disk.id, machine_id: machine.id, ...p.entities },
                source,
                target: { format: 'raw', compression: 'none' },
              },
              p,
            ),
        ]);
      }
      case 'bucketObject': {
        const importOne =
          (a: ImageAttributes, object: BucketObjectRef, minDiskGiB: number, dataDisk: boolean) =>
          (p: { imageId: string; jobId: string; entities?: { sub_job_ids?: string[] } }) => {
            const source: BuildSource = {
              kind: 'bucketObject',
              bucket: 'images',
              key: userBucketKey(caller.accountId, object),
              size: 0,
              label: describeBucketObject(object),
            };
            const target: BuildTarget = { compression: 'none', minDiskGiB };
            return startImageBuild(deps)(
              {
                owner: caller.accountId,
                image: {
                  ...imageFields(a),
                  requirements: { ...a.requirements, min_disk: minDiskGiB },
                  version: IMS_IMAGE_VERSION,
                  os: a.os ?? 'other',
                  type: dataDisk ? 'data-disk' : 'zvol',
                  made_from: { kind: 'file', id: `${object.bucket}:${object.key}` },
                },
                jobType: 'ImportImage',
                entities: { ...p.entities },
                source,
                target,
              },
              p,
            );
          };
        return startFamily(deps, caller.accountId, names, [
          importOne(cmd.system, cmd.object, cmd.system.minDiskGiB, false),
          ...cmd.dataImages.map((d) => importOne(d, d.object, d.minDiskGiB, true)),
        ]);
      }
    }
  };
