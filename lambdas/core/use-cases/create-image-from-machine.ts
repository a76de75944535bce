/**
 * CreateImageFromMachine: records the image (`creating`) and its job (`INIT`), starts the build
 * workflow, and returns at once. The machine must exist, be the caller's, and be stopped. The image
 * is of its boot disk, or of one data disk (IMS data-disk images). The write ordering and its
 * compensation live in start-image-build.ts, shared with the other create use cases.
 */
import type { Principal } from '../account';
import { InvalidParameterError, MachineNotStoppedError } from '../errors';
import type { Compression, Image, ImageType, TagValue, TargetDiskFormat } from '../image';
import { IMAGE_TYPES } from '../image';
import type { Job } from '../job';
import { bootDisk, type Machine, type MachineDisk } from '../machine';
import type { Clock, IdGenerator, ImageRepository, JobRepository, MachineRepository, QuotaGate, WorkflowStarter } from '../ports';
import { startImageBuild } from './start-image-build';

export interface CreateImageFromMachineCommand {
  machine: string;
  name: string;
  version: string;
  description?: string;
  homepage?: string;
  eula?: string;
  acl?: string[];
  tags?: Record<string, TagValue>;
  compression?: Compression;
  requirements?: Image['requirements'];
  os_version?: string;
  /** A data disk of the machine (its id) for a data-disk image; absent = the boot disk. */
  disk?: string;
  /** The disk format to write the machine's raw disk in (default: raw, as it is). */
  output?: TargetDiskFormat;
}

export interface CreateImageDeps {
  images: ImageRepository;
  jobs: JobRepository;
  machines: MachineRepository;
  workflow: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
  quotas?: QuotaGate;
}

/** The caller's machine, ready to be imaged: it exists, is the caller's, and is stopped. */
export const machineForImage =
  (deps: Pick<CreateImageDeps, 'machines'>) =>
  async (caller: Principal, machineId: string): Promise<Machine> => {
    const machine = await deps.machines.get(machineId);
    if (!machine || machine.owner !== caller.accountId || machine.state === 'deleted') {
      // CloudAPI answers 422 InvalidParameter for a machine that is not the caller's (or absent).
      throw new InvalidParameterError(`machine ${machineId} does not exist or is not yours`, [
        { field: 'machine', code: 'Invalid', message: 'no such machine for this account' },
      ]);
    }
    if (machine.state !== 'stopped') {
      throw new MachineNotStoppedError(`machine ${machine.id} is ${machine.state}; stop it before creating an image from it`);
    }
    return machine;
  };

/** Which disk of the machine: the boot disk by default (a system image), or a named data disk. */
function diskOf(machine: Machine, diskId: string | undefined): MachineDisk {
  const disk = diskId === undefined ? bootDisk(machine) : machine.disks.find((d) => d.id === diskId && !d.boot);
  if (!disk) {
    const field = diskId === undefined ? 'machine' : 'disk';
    throw new InvalidParameterError(
      diskId === undefined ? `machine ${machine.id} has no disk` : `disk ${diskId} is not a data disk of machine ${machine.id}`,
      [{ field, code: 'Invalid', message: diskId === undefined ? 'machine has no disk' : 'no such data disk on this machine' }],
    );
  }
  return disk;
}

/**
 * Starts the build of one image from one disk of an already-checked machine (see machineForImage).
 * `preset` fixes the image and job ids and extra job entities, so a caller creating several images
 * at once can link their jobs before any is written.
 */
export const createImageFromCheckedMachine =
  (deps: Omit<CreateImageDeps, 'machines'>) =>
  async (
    caller: Principal,
    machine: Machine,
    cmd: CreateImageFromMachineCommand,
    preset: { imageId?: string; jobId?: string; entities?: { sub_job_ids?: string[] } } = {},
  ): Promise<{ image: Image; job: Job }> => {
    const disk = diskOf(machine, cmd.disk);
    const dataDisk = cmd.disk !== undefined;
    return startImageBuild(deps)(
      {
        owner: caller.accountId,
        image: {
          name: cmd.name,
          version: cmd.version,
          ...(cmd.description !== undefined && { description: cmd.description }),
          ...(cmd.homepage !== undefined && { homepage: cmd.homepage }),
          ...(cmd.eula !== undefined && { eula: cmd.eula }),
          acl: cmd.acl ?? [],
          tags: cmd.tags ?? {},
          requirements: cmd.requirements ?? {},
          os: machine.os,
          ...(cmd.os_version !== undefined && { os_version: cmd.os_version }),
          type: dataDisk ? 'data-disk' : (IMAGE_TYPES as readonly string[]).includes(machine.type) ? (machine.type as ImageType) : 'other',
          origin: machine.image,
          made_from: dataDisk ? { kind: 'volume', id: disk.id } : { kind: 'machine', id: machine.id },
        },
        jobType: 'CreateImageFromMachine',
        entities: { machine_id: machine.id, ...(dataDisk && { volume_id: disk.id }), ...preset.entities },
        source: {
          kind: dataDisk ? 'volume' : 'machine',
          bucket: 'disks',
          key: disk.key,
          size: disk.size,
          label: dataDisk ? `volume ${disk.id} of machine ${machine.id}` : `source disk of machine ${machine.id}`,
        },
        target: { format: cmd.output?.format ?? 'raw', ...(cmd.output && { output: cmd.output }), compression: cmd.compression ?? 'gzip' },
      },
      preset,
    );
  };

export const createImageFromMachine =
  (deps: CreateImageDeps) =>
  async (caller: Principal, cmd: CreateImageFromMachineCommand): Promise<{ image: Image; job: Job }> => {
    const machine = await machineForImage(deps)(caller, cmd.machine);
    return createImageFromCheckedMachine(deps)(caller, machine, cmd);
  };
