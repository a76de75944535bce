/**
 * Ports: what the core needs from the outside world. Adapters (DynamoDB, S3, Step Functions)
 * implement them; tests may fake them. No AWS types cross this line.
 */
import type { Account } from './account';
import type { Compression, DiskFormat, Image, ImageFile, ImageState } from './image';
import type { ImageFilter } from './image-filter';
import type { Job, JobStatus } from './job';
import type { Machine, MachineState } from './machine';

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; absent on the last page. */
  cursor?: string;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface ImageRepository {
  /** Creates the image; fails with StateConflictError if the id exists. */
  create(image: Image): Promise<void>;
  get(id: string): Promise<Image | undefined>;
  /**
   * Applies `changes` if the image is in one of `expect.states` (and at `expect.rev` when given);
   * bumps `rev` and `updated_at`. Throws StateConflictError (or NotFoundError) otherwise.
   */
  update(id: string, expect: { states: ImageState[]; rev?: number }, changes: Partial<Omit<Image, 'id' | 'owner' | 'rev'>>): Promise<Image>;
  listByOwner(owner: string, page: PageRequest): Promise<Page<Image>>;
  /**
   * One source of the "visible to me" listing, in ascending sort-key order (the unique
   * `<created_at>#<id>` every image index shares), strictly after `after`. `owned`: the account's
   * images; `shared`: images whose acl entries name the account (resolved to the image items);
   * `public`: public images. May return fewer than `limit` items (filters), with `exhausted` false.
   */
  listSource(source: ImageSource, account: string, opts: { after?: string; limit: number; filter: ImageFilter }): Promise<ImageSourcePage>;
  /** Writes the acl entry items (the shared-with index) of these accounts; idempotent. */
  addAclEntries(imageId: string, accounts: string[]): Promise<void>;
  /** Removes these accounts' acl entry items, or every one the image has (`'all'`); idempotent. */
  removeAclEntries(imageId: string, accounts: string[] | 'all'): Promise<void>;
}

export type ImageSource = 'owned' | 'shared' | 'public';

export interface ImageSourcePage {
  items: { image: Image; sortKey: string }[];
  /** Sort key of the last item the source evaluated (to resume after), when not exhausted. */
  lastKey?: string;
  exhausted: boolean;
}

/** Image files in object storage, by image (each image owns the objects under its own prefix). */
export interface ImageFileStore {
  /** Copies the file under another image's prefix; returns the copy's manifest entry. */
  copyFile(file: ImageFile, toImageId: string): Promise<ImageFile>;
  /** Removes every object (and open upload) under the image's prefix; idempotent. */
  removeFiles(imageId: string): Promise<void>;
  /**
   * Writes the file and a manifest document into the account's export area at these paths and
   * returns where they are and a short-lived download URL for the file.
   */
  exportFile(
    file: ImageFile,
    target: { accountId: string; imagePath: string; manifestPath: string; manifest: unknown; expiresInSeconds: number },
  ): Promise<{ location: string; downloadUrl: string }>;
}

/** Machine disks from image files (CreateMachine). */
export interface DiskProvisioner {
  /** Writes the image file, decompressed to a raw disk, as the disk object `diskKey`; its size. */
  expandImage(file: ImageFile, diskKey: string): Promise<number>;
  removeDisk(key: string): Promise<void>;
}

/** Copies a stored object to another key of the images store (exports to the caller's bucket area). */
export interface ObjectCopier {
  copyImageObject(fromKey: string, toKey: string): Promise<void>;
}

export interface JobRepository {
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Omit<Job, 'id' | 'owner' | 'rev'>>): Promise<Job>;
  /** Adds `bytes` to `work_done` atomically while the job is RUNNING (concurrent writers); returns the job after. */
  addWork(id: string, bytes: number): Promise<Job>;
  /**
   * Sets progress (with eta and phase) while the job is RUNNING, only if that raises its progress, so
   * concurrent reporters never move it back. Resolves false when nothing was written.
   */
  raiseProgress(id: string, changes: { progress: number; eta?: string; phase?: string }): Promise<boolean>;
}

export interface MachineRepository {
  create(machine: Machine): Promise<void>;
  get(id: string): Promise<Machine | undefined>;
  update(id: string, expect: { states: MachineState[] }, changes: Partial<Omit<Machine, 'id' | 'owner' | 'rev'>>): Promise<Machine>;
  listByOwner(owner: string, page: PageRequest): Promise<Page<Machine>>;
}

export interface AccountRepository {
  /** Creates the account; StateConflictError if the login is taken. */
  create(account: Account): Promise<void>;
  get(id: string): Promise<Account | undefined>;
  getByLogin(login: string): Promise<Account | undefined>;
}

/**
 * Where a build reads its source: a disk object in one of the service's stores, named logically
 * (`disks` = machine disks, `images` = image files and the per-account bucket area, see
 * `userBucketKey`) so the core never sees a real bucket name; the workflow maps it to one.
 */
export type SourceStore = 'disks' | 'images';

export interface BuildSource {
  kind: 'machine' | 'volume' | 'bucketObject';
  bucket: SourceStore;
  key: string;
  /** Bytes of the object if known; 0 when PrepareSource must find out (bucket objects). */
  size: number;
  /** What the source is, for messages: "source disk of machine <id>", "volume <id>", "bucket object b:k". */
  label: string;
}

export interface BuildTarget {
  /** The stored format; absent when PrepareSource must detect it from the bytes (imports). */
  format?: DiskFormat;
  compression: Compression;
  /** When set, PrepareSource fails the build if the disk's virtual size exceeds this many GiB. */
  minDiskGiB?: number;
}

/** Input of the build-image workflow (docs/architecture.md §5). */
export interface BuildRequest {
  jobId: string;
  imageId: string;
  owner: string;
  source: BuildSource;
  target: BuildTarget;
}

export interface WorkflowStarter {
  /** Starts the build; idempotent per jobId (the execution is named after it). */
  startBuild(request: BuildRequest): Promise<{ executionArn: string }>;
}

export interface FileUrlSigner {
  /** A short-lived URL from which the image file can be downloaded. */
  presignImageFile(key: string, opts: { expiresInSeconds: number; filename: string }): Promise<string>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  uuid(): string;
}

/** Credentials the authorizer checks (lambdas/core/credential.ts); every lookup is one GetItem. */
export interface CredentialRepository {
  /** Registers (or replaces) an SSH public key of an account. */
  putKey(key: import('./credential').SshKeyCredential): Promise<void>;
  getKey(login: string, md5Fingerprint: string): Promise<import('./credential').SshKeyCredential | undefined>;
  /** Sets the password (resetting failures and lockout). */
  putPassword(cred: import('./credential').PasswordCredential): Promise<void>;
  getPassword(accountId: string): Promise<import('./credential').PasswordCredential | undefined>;
  /** Counts one wrong password (a conditional counter); locks until `lockUntil` once `maxFailures` is reached. */
  recordPasswordFailure(accountId: string, opts: { maxFailures: number; lockUntil: string }): Promise<void>;
  /** Clears the failure counter after a good password (no-op when it is already zero). */
  clearPasswordFailures(accountId: string): Promise<void>;
  putToken(token: import('./credential').TokenCredential): Promise<void>;
  getToken(hash: string): Promise<import('./credential').TokenCredential | undefined>;
  putAksk(cred: import('./credential').AkskCredential): Promise<void>;
  getAksk(ak: string): Promise<import('./credential').AkskCredential | undefined>;
}
