/**
 * Machine images generated from UForge appliances (lambdas/core/appliance.ts): generate (and
 * regenerate), read with their build status, cancel, delete, and download — by the owner, or once per
 * download key without credentials.
 *
 * Generating builds the appliance machine's boot disk (the machine must be stopped) through the
 * shared create-image path (create-image-from-machine.ts) in the requested disk format. The generated
 * image record is written before the build starts, so a build never runs without its record; if the
 * start fails, the record stays and its status reads as the failed job.
 */
import type { Principal } from '../account';
import type { Appliance, ApplianceImage, ApplianceImageRepository, ApplianceRepository, InstallProfile } from '../appliance';
import { InvalidCredentialsError, NotAvailableError, NotFoundError, StateConflictError } from '../errors';
import type { Compression, Image, TargetDiskFormat } from '../image';
import type { Job } from '../job';
import type {
  AccountRepository,
  Clock,
  FileUrlSigner,
  IdGenerator,
  ImageFileStore,
  ImageRepository,
  JobRepository,
  MachineRepository,
  WorkflowStarter,
  WorkflowStopper,
  QuotaGate,
} from '../ports';
import { getAppliance, markApplianceDeleted } from './appliances';
import { cancelJob } from './cancel-job';
import { createImageFromCheckedMachine, machineForImage } from './create-image-from-machine';
import { deleteImage } from './delete-image';
import { FILE_URL_TTL_SECONDS } from './get-image-file';

export interface GenerateCommand {
  /** Canonical UForge target format name, recorded on the generated image. */
  target_format: string;
  output: TargetDiskFormat;
  compression: Compression;
  install_profile?: InstallProfile;
}

export interface ApplianceImageDeps {
  appliances: ApplianceRepository;
  applianceImages: ApplianceImageRepository;
  images: ImageRepository;
  jobs: JobRepository;
  machines: MachineRepository;
  workflow: WorkflowStarter;
  stopper: WorkflowStopper;
  /** Per-account quotas (images, concurrent builds), as every create route applies them. */
  quotas?: QuotaGate;
  files: ImageFileStore;
  clock: Clock;
  ids: IdGenerator;
}

/** A generated image with what its status and manifest are read from. */
export interface GeneratedImage {
  record: ApplianceImage;
  image?: Image;
  job?: Job;
}

const newDownloadKey = (ids: IdGenerator) => `${ids.uuid()}${ids.uuid()}`.replace(/-/g, '');

export const generateApplianceImage =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string, cmd: GenerateCommand): Promise<GeneratedImage> => {
    const appliance = await getAppliance(deps)(caller, applianceId);
    if (!appliance.os_profile) {
      throw new NotAvailableError(
        `appliance ${appliance.id} has no OS profile: a machine image can only be generated from an appliance with an OS profile`,
      );
    }
    const machine = await machineForImage(deps)(caller, appliance.machine_id);
    const now = deps.clock.now().toISOString();
    const install = { ...appliance.install_profile, ...cmd.install_profile };
    // an OVA describes the virtual machine around its disk: the appliance's name and memory
    const output: TargetDiskFormat =
      cmd.output.format === 'ova'
        ? {
            format: 'ova',
            ova: {
              name: appliance.name,
              ...(appliance.description && { description: appliance.description }),
              ...(install.memory_size && { memoryMiB: install.memory_size }),
            },
          }
        : cmd.output;
    const record: ApplianceImage = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      appliance_id: appliance.id,
      image_id: deps.ids.uuid(),
      job_id: deps.ids.uuid(),
      target_format: cmd.target_format,
      format: output.format,
      output,
      compression: cmd.compression,
      install_profile: install,
      download_key: newDownloadKey(deps.ids),
      appliance_revision: appliance.rev,
      state: 'active',
      created_at: now,
      updated_at: now,
      rev: 1,
    };
    // the quota is checked before the record is written: a refused generation leaves nothing behind
    // (the build below re-admits the same image id and keeps the slot taken here)
    await deps.quotas?.admit(caller.accountId, record.image_id, { build: true });
    await deps.applianceImages.create(record);
    const { image, job } = await createImageFromCheckedMachine(deps)(
      caller,
      machine,
      {
        machine: machine.id,
        name: appliance.name,
        version: appliance.version,
        ...(appliance.description !== undefined && { description: appliance.description }),
        compression: cmd.compression,
        output,
        os_version: `${appliance.os_profile.name} ${appliance.os_profile.version} ${appliance.os_profile.arch}`,
        requirements: record.install_profile.memory_size !== undefined ? { min_ram: record.install_profile.memory_size } : {},
        tags: { 'uforge.appliance': appliance.id, 'uforge.targetFormat': cmd.target_format },
      },
      { imageId: record.image_id, jobId: record.job_id },
    );
    return { record, image, job };
  };

/** The caller's live generated image of this appliance, with its core image and job; else 404. */
export const getApplianceImage =
  (deps: Pick<ApplianceImageDeps, 'appliances' | 'applianceImages' | 'images' | 'jobs'>) =>
  async (caller: Principal, applianceId: string, id: string): Promise<GeneratedImage> => {
    await getAppliance(deps)(caller, applianceId);
    const record = await deps.applianceImages.get(id);
    if (!record || record.owner !== caller.accountId || record.appliance_id !== applianceId || record.state !== 'active') {
      throw new NotFoundError(`machine image ${id} not found`);
    }
    return withBuild(deps, record);
  };

async function withBuild(deps: Pick<ApplianceImageDeps, 'images' | 'jobs'>, record: ApplianceImage): Promise<GeneratedImage> {
  const [image, job] = await Promise.all([deps.images.get(record.image_id), deps.jobs.get(record.job_id)]);
  return { record, image: image?.state === 'deleted' ? undefined : image, job };
}

/** Every live generated image of the caller's appliance, oldest first. */
export const listApplianceImages =
  (deps: Pick<ApplianceImageDeps, 'appliances' | 'applianceImages' | 'images' | 'jobs'>) =>
  async (caller: Principal, applianceId: string): Promise<GeneratedImage[]> => {
    await getAppliance(deps)(caller, applianceId);
    const records: ApplianceImage[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.applianceImages.listByAppliance(applianceId, { limit: 200, cursor });
      records.push(...page.items.filter((r) => r.state === 'active' && r.owner === caller.accountId));
      cursor = page.cursor;
    } while (cursor);
    return Promise.all(records.map((r) => withBuild(deps, r)));
  };

/**
 * Cancels the generation; cancelling a cancelled generation again answers it as it is (idempotent), and
 * a generation that ended otherwise is a StateConflict (409).
 */
export const cancelApplianceImage =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string, id: string): Promise<GeneratedImage> => {
    const { record, job } = await getApplianceImage(deps)(caller, applianceId, id);
    if (job?.status === 'CANCELLED') return withBuild(deps, record);
    await cancelJob({ jobs: deps.jobs, images: deps.images, files: deps.files, workflow: deps.stopper, clock: deps.clock })(
      caller,
      record.job_id,
    );
    return withBuild(deps, record);
  };

/** Deletes a generated image: a running generation is cancelled, the record tombstoned, the core image deleted with its file. */
export const deleteApplianceImage =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string, id: string): Promise<void> => {
    const { record, job, image } = await getApplianceImage(deps)(caller, applianceId, id);
    await removeGenerated(deps, caller, record, job, image);
  };

async function removeGenerated(
  deps: ApplianceImageDeps,
  caller: Principal,
  record: ApplianceImage,
  job: Job | undefined,
  image: Image | undefined,
): Promise<void> {
  if (job && (job.status === 'INIT' || job.status === 'RUNNING')) {
    await cancelJob({ jobs: deps.jobs, images: deps.images, files: deps.files, workflow: deps.stopper, clock: deps.clock })(
      caller,
      job.id,
    ).catch((err) => {
      if (!(err instanceof StateConflictError)) throw err; // it ended meanwhile: delete it as it is
    });
  }
  await deps.applianceImages.update(
    record.id,
    { states: ['active'], rev: record.rev },
    { state: 'deleted', updated_at: deps.clock.now().toISOString() },
  );
  if (image) {
    await deleteImage({ images: deps.images, files: deps.files, jobs: deps.jobs, workflow: deps.stopper, clock: deps.clock })(
      caller,
      image.id,
    ).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
}

export const deleteAllApplianceImages =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string): Promise<void> => {
    for (const g of await listApplianceImages(deps)(caller, applianceId)) await removeGenerated(deps, caller, g.record, g.job, g.image);
  };

/** Deletes the appliance and every machine image generated from it. */
export const deleteAppliance =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string): Promise<void> => {
    await deleteAllApplianceImages(deps)(caller, applianceId);
    await markApplianceDeleted(deps)(caller, applianceId);
  };

/** A new generation with the parameters of an earlier one (UForge "regenerate"). */
export const regenerateApplianceImage =
  (deps: ApplianceImageDeps) =>
  async (caller: Principal, applianceId: string, id: string): Promise<GeneratedImage> => {
    const { record } = await getApplianceImage(deps)(caller, applianceId, id);
    return generateApplianceImage(deps)(caller, applianceId, {
      target_format: record.target_format,
      output: record.output ?? { format: 'raw' },
      compression: record.compression,
      install_profile: record.install_profile,
    });
  };

export interface DownloadDeps {
  appliances: ApplianceRepository;
  applianceImages: ApplianceImageRepository;
  images: ImageRepository;
  jobs: JobRepository;
  accounts: AccountRepository;
  signer: FileUrlSigner;
  clock: Clock;
  ids: IdGenerator;
}

export type DownloadCaller = { caller: Principal } | { login: string; downloadKey: string };

/**
 * A short-lived URL of a generated image's file. Only images generated with `compress` can be
 * downloaded (as UForge documents). Without credentials, the image's current download key must be
 * given; it is replaced by a new one in the same conditional write, so each key works exactly once.
 */
export const downloadApplianceImage =
  (deps: DownloadDeps) =>
  async (who: DownloadCaller, applianceId: string, id: string): Promise<{ url: string; expiresInSeconds: number; fileName: string }> => {
    let owner: Principal;
    if ('caller' in who) owner = who.caller;
    else {
      const account = await deps.accounts.getByLogin(who.login);
      if (!account) throw new InvalidCredentialsError('the download key is not valid');
      owner = { accountId: account.id, login: account.login, roles: [] };
    }
    const generated = await getApplianceImage(deps)(owner, applianceId, id).catch((err) => {
      if ('downloadKey' in who && err instanceof NotFoundError) throw new InvalidCredentialsError('the download key is not valid');
      throw err;
    });
    const { record, image } = generated;
    if (record.compression !== 'gzip')
      throw new NotAvailableError(`machine image ${id} was generated without compress: only compressed machine images can be downloaded`);
    const file = image?.files[0];
    if (image?.state !== 'active' || !file)
      throw new StateConflictError(
        `machine image ${id} is not generated yet (or its generation failed): nothing to download`,
        image?.state,
      );
    if ('downloadKey' in who) {
      await deps.applianceImages
        .update(
          record.id,
          { states: ['active'], downloadKey: who.downloadKey },
          { download_key: newDownloadKey(deps.ids), updated_at: deps.clock.now().toISOString() },
        )
        .catch((err) => {
          if (err instanceof StateConflictError || err instanceof NotFoundError)
            throw new InvalidCredentialsError('the download key is not valid (each key works once; read the image for a new one)');
          throw err;
        });
    }
    const fileName = generatedFileName(generated.record, image);
    const url = await deps.signer.presignImageFile(file.key, { expiresInSeconds: FILE_URL_TTL_SECONDS, filename: fileName });
    return { url, expiresInSeconds: FILE_URL_TTL_SECONDS, fileName };
  };

/** The file name a generated image downloads as: `<name>_<version>.<ext>[.gz]`. */
export function generatedFileName(
  record: ApplianceImage,
  image: Pick<Image, 'name' | 'version'>,
  extension: string = record.format,
): string {
  const base = `${image.name}_${image.version}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${base}.${extension}${record.compression === 'gzip' ? '.gz' : ''}`;
}

export type { Appliance };
