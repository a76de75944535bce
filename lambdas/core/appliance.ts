/**
 * UForge appliances and the machine images generated from them, as the core sees them.
 *
 * An appliance is a template backed by a machine its owner has (docs/decisions/uforge-dialect.md): its
 * OS profile (distribution name, version, arch) and install profile (disk and memory size) describe
 * the machine's system; generating a machine image builds an image of the machine's boot disk in the
 * requested disk format through the same workflow as every other image. A generated machine image
 * (`ApplianceImage`, UForge's "image ticket") links the appliance, the core image and its build job.
 *
 * The repositories' ports live here rather than in ports.ts: only the UForge dialect uses them.
 */
import type { Compression, DiskFormat, TargetDiskFormat } from './image';
import type { Page, PageRequest } from './ports';

export type ApplianceState = 'active' | 'deleted';

export interface OsProfile {
  /** Distribution name, e.g. "CentOS". */
  name: string;
  /** Distribution version, e.g. "7". */
  version: string;
  /** Architecture, e.g. "x86_64". */
  arch: string;
}

export interface InstallProfile {
  /** Recommended disk size in bytes. */
  disk_size?: number;
  /** Recommended memory size in MiB (UForge `memorySize`). */
  memory_size?: number;
}

export interface Appliance {
  id: string;
  owner: string;
  name: string;
  version: string;
  description?: string;
  /** The machine whose boot disk the appliance's images are built from (the caller's). */
  machine_id: string;
  os_profile?: OsProfile;
  install_profile: InstallProfile;
  state: ApplianceState;
  created_at: string;
  updated_at: string;
  rev: number;
}

export type ApplianceImageState = 'active' | 'deleted';

export interface ApplianceImage {
  /** UForge's `itid`. */
  id: string;
  owner: string;
  appliance_id: string;
  /** The core image being (or that was) built, and its job. */
  image_id: string;
  job_id: string;
  /** The UForge target format name as the caller gave it (its canonical spelling). */
  target_format: string;
  format: DiskFormat;
  /** What the build writes (format and variant); absent on records from before formats existed: raw. */
  output?: TargetDiskFormat;
  compression: Compression;
  install_profile: InstallProfile;
  /** The current one-use download key (UForge `downloadKey`); replaced each time it is used. */
  download_key: string;
  /** Revision of the appliance the image was generated from. */
  appliance_revision: number;
  state: ApplianceImageState;
  created_at: string;
  updated_at: string;
  rev: number;
}

export interface ApplianceRepository {
  /** Creates the appliance; StateConflictError if the id exists. */
  create(appliance: Appliance): Promise<void>;
  get(id: string): Promise<Appliance | undefined>;
  /** Applies `changes` if the appliance is in one of `expect.states` (and at `expect.rev`); bumps rev. */
  update(
    id: string,
    expect: { states: ApplianceState[]; rev?: number },
    changes: Partial<Omit<Appliance, 'id' | 'owner' | 'rev'>>,
  ): Promise<Appliance>;
  /** The owner's appliances, oldest first (deleted ones included: callers filter). */
  listByOwner(owner: string, page: PageRequest): Promise<Page<Appliance>>;
}

export interface ApplianceImageRepository {
  create(image: ApplianceImage): Promise<void>;
  get(id: string): Promise<ApplianceImage | undefined>;
  update(
    id: string,
    expect: { states: ApplianceImageState[]; rev?: number; downloadKey?: string },
    changes: Partial<Omit<ApplianceImage, 'id' | 'owner' | 'rev'>>,
  ): Promise<ApplianceImage>;
  /** The images generated from an appliance, oldest first (deleted ones included: callers filter). */
  listByAppliance(applianceId: string, page: PageRequest): Promise<Page<ApplianceImage>>;
}
