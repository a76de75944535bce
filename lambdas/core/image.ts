/**
 * The Image: an IMGAPI-style manifest (dialects rename fields) and its legal state transitions.
 * Every transition is applied by the repository as a conditional write on `state` and `rev`.
 */
import { StateConflictError } from './errors';

export type ImageState = 'creating' | 'unactivated' | 'active' | 'disabled' | 'failed' | 'deleted';
export const IMAGE_TYPES = ['zone-dataset', 'lx-dataset', 'zvol', 'docker', 'lxd', 'data-disk', 'other'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
export type Compression = 'gzip' | 'none';
/** Disk file formats the service detects and stores; ova is a tar holding an OVF descriptor and a vmdk. */
export const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhd', 'iso', 'ova'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

/**
 * A disk format a build can write (lambdas/pipeline/formats: `OutputSpec`). Defaults: qcow2 plain,
 * vmdk streamOptimized, vhd dynamic.
 */
export type TargetDiskFormat =
  | { format: 'raw' }
  | { format: 'qcow2'; compressed?: boolean }
  | { format: 'vmdk'; subformat?: 'streamOptimized' | 'monolithicSparse' }
  | { format: 'vhd'; subformat?: 'dynamic' | 'fixed' }
  | { format: 'ova'; ova?: { name?: string; description?: string; cpus?: number; memoryMiB?: number; osTypeId?: number } };

export interface ImageFile {
  size: number;
  sha1: string;
  sha256: string;
  compression: Compression;
  format: DiskFormat;
  /** Object key in the images bucket (never sent on the wire). */
  key: string;
  /** Bytes of the disk the file holds (recorded by builds; absent on older files). */
  virtualSize?: number;
  /**
   * Set when the file was built in ranges: an index object beside it locates each range, so the file
   * can be read from any range (lambdas/workflow/range-index.ts). Never sent on the wire.
   */
  rangeIndex?: { ranges: number; rangeBytes: number; rawSize: number };
}

export interface ImageError {
  code: string;
  message: string;
}

export type TagValue = string | number | boolean;

export interface Image {
  id: string;
  owner: string;
  name: string;
  version: string;
  description?: string;
  homepage?: string;
  eula?: string;
  acl: string[];
  tags: Record<string, TagValue>;
  requirements: { min_ram?: number; max_ram?: number; min_disk?: number };
  os: string;
  type: ImageType;
  state: ImageState;
  public: boolean;
  published_at?: string;
  created_at: string;
  updated_at: string;
  files: ImageFile[];
  origin?: string;
  /** What the image was made from: a machine's boot disk, one of its data disks, or a file (`bucket:key`). */
  made_from?: { kind: 'machine' | 'volume' | 'file'; id: string };
  /** OS release as the user named it (IMS `os_version`, e.g. "CentOS 7.0 64bit"). */
  os_version?: string;
  error?: ImageError;
  /** The job building the image (set at creation; never sent on the wire): what DELETE of a `creating` image cancels. */
  job_id?: string;
  /** Optimistic-lock revision, bumped by every write. */
  rev: number;
}

/** Which states each state may move to. `deleted` is a tombstone, reachable from anywhere. */
const TRANSITIONS: Record<ImageState, readonly ImageState[]> = {
  creating: ['active', 'failed', 'deleted'],
  unactivated: ['active', 'failed', 'deleted'],
  active: ['disabled', 'deleted'],
  disabled: ['active', 'deleted'],
  failed: ['deleted'],
  deleted: [],
};

export const canTransition = (from: ImageState, to: ImageState): boolean => TRANSITIONS[from].includes(to);

/** The states from which `to` may be reached: the condition of the conditional write. */
export const statesLeadingTo = (to: ImageState): ImageState[] =>
  (Object.keys(TRANSITIONS) as ImageState[]).filter((s) => TRANSITIONS[s].includes(to));

export function assertTransition(image: Pick<Image, 'id' | 'state'>, to: ImageState): void {
  if (!canTransition(image.state, to)) {
    throw new StateConflictError(`image ${image.id} is ${image.state} and cannot become ${to}`, image.state);
  }
}

/**
 * A sharee's answer to a share (IMS/Glance `member_status`): a share is `pending` until the sharee
 * accepts it. Only accepted shares are listed (and so resolvable by name); any share is reachable by
 * id. Kept on the acl entry, not on the image (docs/decisions/sharing-consent.md).
 */
export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** The acl as a given account may see it: all of it for the owner, only its own entry for a sharee. */
export const aclSeenBy = (image: Pick<Image, 'owner' | 'acl'>, accountId: string): string[] =>
  image.owner === accountId ? image.acl : image.acl.filter((a) => a === accountId);

/** The image a principal may see: its own, public ones, and those whose acl holds it. */
export const canSee = (image: Pick<Image, 'owner' | 'public' | 'acl' | 'state'>, accountId: string): boolean =>
  image.state !== 'deleted' && (image.owner === accountId || image.public || image.acl.includes(accountId));
