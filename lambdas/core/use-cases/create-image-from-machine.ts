/**
 * CreateImageFromMachine: records the image (`creating`) and its job (`INIT`), starts the build
 * workflow, and returns at once. The machine must exist, be the caller's, and be stopped.
 * Writes are ordered so that every intermediate state is safe without transactions: if the job
 * cannot be written or the workflow cannot start, the image is marked `failed` with the reason.
 */
import type { Principal } from '../account';
import { InvalidParameterError, MachineNotStoppedError, ServiceError, ServiceUnavailableError } from '../errors';
import type { Compression, Image, ImageType, TagValue } from '../image';
import { IMAGE_TYPES } from '../image';
import type { Job } from '../job';
import { bootDisk } from '../machine';
import type { Clock, IdGenerator, ImageRepository, JobRepository, MachineRepository, WorkflowStarter } from '../ports';

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
}

export interface CreateImageDeps {
  images: ImageRepository;
  jobs: JobRepository;
  machines: MachineRepository;
  workflow: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
}

export const createImageFromMachine =
  (deps: CreateImageDeps) =>
  async (caller: Principal, cmd: CreateImageFromMachineCommand): Promise<{ image: Image; job: Job }> => {
    const machine = await deps.machines.get(cmd.machine);
    if (!machine || machine.owner !== caller.accountId || machine.state === 'deleted') {
      // CloudAPI answers 422 InvalidParameter for a machine that is not the caller's (or absent).
      throw new InvalidParameterError(`machine ${cmd.machine} does not exist or is not yours`, [
        { field: 'machine', code: 'Invalid', message: 'no such machine for this account' },
      ]);
    }
    if (machine.state !== 'stopped') {
      throw new MachineNotStoppedError(`machine ${machine.id} is ${machine.state}; stop it before creating an image from it`);
    }
    const disk = bootDisk(machine);
    if (!disk) throw new InvalidParameterError(`machine ${machine.id} has no disk`, [{ field: 'machine', code: 'Invalid', message: 'machine has no disk' }]);

    const now = deps.clock.now().toISOString();
    const image: Image = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      name: cmd.name,
      version: cmd.version,
      ...(cmd.description !== undefined && { description: cmd.description }),
      ...(cmd.homepage !== undefined && { homepage: cmd.homepage }),
      ...(cmd.eula !== undefined && { eula: cmd.eula }),
      acl: cmd.acl ?? [],
      tags: cmd.tags ?? {},
      requirements: {},
      os: machine.os,
      type: (IMAGE_TYPES as readonly string[]).includes(machine.type) ? (machine.type as ImageType) : 'other',
      state: 'creating',
      public: false,
      created_at: now,
      updated_at: now,
      files: [],
      origin: machine.image,
      rev: 1,
    };
    const job: Job = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      type: 'CreateImageFromMachine',
      status: 'INIT',
      progress: 0,
      entities: { image_id: image.id, machine_id: machine.id },
      created_at: now,
      rev: 1,
    };

    await deps.images.create(image);
    try {
      await deps.jobs.create(job);
      const { executionArn } = await deps.workflow.startBuild({
        jobId: job.id,
        imageId: image.id,
        owner: caller.accountId,
        source: { kind: 'machine', machineId: machine.id, diskKey: disk.key, diskSize: disk.size },
        target: { format: 'raw', compression: cmd.compression ?? 'gzip' },
      });
      const started = await deps.jobs.update(job.id, { statuses: ['INIT', 'RUNNING', 'SUCCESS', 'FAIL'] }, { execution_arn: executionArn });
      return { image, job: started };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await deps.images
        .update(image.id, { states: ['creating'] }, { state: 'failed', error: { code: 'InternalError', message: `could not start the build: ${reason}` } })
        .catch(() => undefined);
      await deps.jobs
        .update(job.id, { statuses: ['INIT'] }, { status: 'FAIL', error_code: 'InternalError', fail_reason: reason, end_time: deps.clock.now().toISOString() })
        .catch(() => undefined);
      if (err instanceof ServiceError) throw err;
      throw new ServiceUnavailableError('the build could not be started; try again');
    }
  };
