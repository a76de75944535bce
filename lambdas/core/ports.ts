/**
 * Ports: what the core needs from the outside world. Adapters (DynamoDB, S3, Step Functions)
 * implement them; tests may fake them. No AWS types cross this line.
 */
import type { Account } from './account';
import type { Compression, DiskFormat, Image, ImageFile, ImageState, MemberStatus, TargetDiskFormat } from './image';
import type { ImageFilter } from './image-filter';
import type { Job, JobHistoryEntry, JobStatus } from './job';
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
  /**
   * Creates the image; fails with StateConflictError if the id exists. The image also holds its
   * name's record (see claimName), released again if the image cannot be written.
   */
  create(image: Image): Promise<void>;
  /**
   * Makes `imageId` a holder of the owner's name record (one conditional write, O(1)). `exclusive`
   * (IMS: names unique per account, IMG.0009): only if no other live image holds the name; answers
   * false when one does. Not exclusive (Triton allows duplicates): always holds. Idempotent.
   */
  claimName(owner: string, name: string, imageId: string, opts: { exclusive: boolean }): Promise<boolean>;
  /** Drops `imageId` from the name's holders (a delete, a rename, a compensation); idempotent. */
  releaseName(owner: string, name: string, imageId: string): Promise<void>;
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
   * `public`: public images. `limit` bounds the entries *evaluated* (DynamoDB applies Limit before
   * the filter), so it may return fewer items, even none, with `exhausted` false.
   */
  listSource(source: ImageSource, account: string, opts: { after?: string; limit: number; filter: ImageFilter }): Promise<ImageSourcePage>;
  /** Writes `pending` acl entry items (the shared-with index) for these accounts; an existing entry keeps its status. */
  addAclEntries(imageId: string, accounts: string[]): Promise<void>;
  /** Sets a sharee's answer on its acl entry (a conditional write: NotFoundError when there is no entry). */
  setMemberStatus(imageId: string, account: string, status: MemberStatus): Promise<void>;
  /** Removes these accounts' acl entry items, or every one the image has (`'all'`); idempotent. */
  removeAclEntries(imageId: string, accounts: string[] | 'all'): Promise<void>;
}

export type ImageSource = 'owned' | 'shared' | 'public';

export interface ImageSourcePage {
  items: { image: Image; sortKey: string }[];
  /** Sort key of the last item the source evaluated (to resume after), when not exhausted. */
  lastKey?: string;
  exhausted: boolean;
  /** Index entries (or name-record holders) evaluated to answer, matching or not; default `items.length`. */
  read?: number;
}

/** Image files in object storage, by image (each image owns the objects under its own prefix). */
export interface ImageFileStore {
  /**
   * Copies the file under another image's prefix; returns the copy's manifest entry. Every method that
   * passes a file on checks its bytes against the manifest (ImageFileCorruptError when they differ).
   */
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
  /** Writes the image file, checked against its manifest and decompressed to a raw disk, as the disk object `diskKey`; its size. */
  expandImage(file: ImageFile, diskKey: string): Promise<number>;
  removeDisk(key: string): Promise<void>;
}

/**
 * Writes a stored image file as a disk of another format at another key of the images store, after
 * checking the file against its manifest (ImageFileCorruptError).
 */
export interface ImageFileConverter {
  convertImageFile(file: ImageFile, output: TargetDiskFormat, toKey: string): Promise<void>;
}

/** Copies an image file to another key of the images store (exports to the caller's bucket area). */
export interface ObjectCopier {
  /** Copies and checks the copy against the file's manifest (ImageFileCorruptError, the copy removed). */
  copyImageFile(file: ImageFile, toKey: string): Promise<void>;
}

export interface JobRepository {
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Omit<Job, 'id' | 'owner' | 'rev'>>): Promise<Job>;
  /**
   * Work of one unit among concurrent ones (a range of a chunked build): raises that unit's high-water
   * mark to `done` bytes and adds only the rise to `work_done`, atomically, while the job is RUNNING.
   * A retried unit that starts again from 0 adds nothing until it passes what its failed attempt
   * reported, so work is never counted twice. Returns the job after (the unit marks are not part of it).
   */
  addWork(id: string, work: { unit: number; done: number }): Promise<Job>;
  /**
   * Sets progress (with eta and phase) while the job is RUNNING, only if that raises its progress, so
   * concurrent reporters never move it back. Resolves false when nothing was written.
   */
  raiseProgress(id: string, changes: { progress: number; eta?: string; phase?: string }): Promise<boolean>;
  /**
   * Appends one entry to the job's history (appendJobHistory) while the job is INIT or RUNNING, by a
   * write conditional on the job's status and revision. Resolves false when the entry was already
   * there (a replay); StateConflictError when the job has ended, NotFoundError when it is gone.
   */
  recordHistory(id: string, entry: JobHistoryEntry): Promise<boolean>;
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
  /** Disables (a time) or re-enables (undefined) an existing account: a conditional write; NotFoundError when absent. */
  setDisabled(id: string, disabledAt: string | undefined): Promise<Account>;
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
  /**
   * Write the (raw) source disk in this format; `format` is then `output.format`. Absent: the
   * source's bytes are stored as they are (leave it absent for raw). Chunked builds (sources at or
   * above the chunking threshold) refuse other formats for now (start-ranges.ts).
   */
  output?: TargetDiskFormat;
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
  /** The starting request's correlation id, which every task logs (lambdas/observability/correlation.ts). */
  correlationId?: string;
}

export interface WorkflowStarter {
  /** Starts the build; idempotent per jobId (the execution is named after it). */
  startBuild(request: BuildRequest): Promise<{ executionArn: string }>;
}

/**
 * A copy run by the build workflow instead of the request, when it can outlast one (a file at or above
 * the copy-in-workflow threshold; docs/decisions/async-provisioning.md): a clone (the new image, which
 * the workflow makes `active` or `failed`) or an IMS export (the job only; the exported image is never
 * touched, so its input carries no top-level `imageId`).
 */
export type CopyWorkflowRequest =
  | { jobId: string; owner: string; imageId: string; copy: { kind: 'clone'; sourceImageId: string; file: ImageFile } }
  | {
      jobId: string;
      owner: string;
      copy: { kind: 'export'; sourceImageId: string; file: ImageFile; toKey: string; output?: TargetDiskFormat };
    };

export interface CopyWorkflowStarter {
  /** Starts the copy; idempotent per jobId (the execution is named after it). */
  startCopy(request: CopyWorkflowRequest): Promise<{ executionArn: string }>;
}

/** Input of the provisioning workflow: expand an image file into a new machine's boot disk. */
export interface ProvisionRequest {
  machineId: string;
  owner: string;
  imageId: string;
  /** The image file to expand (read from the images store). */
  file: ImageFile;
  /** The disk to write in the disks store. */
  disk: { id: string; key: string };
  /** The starting request's correlation id, which every task logs (lambdas/observability/correlation.ts). */
  correlationId?: string;
}

export interface ProvisionStarter {
  /** Starts provisioning; idempotent per machine (the execution is named after it). */
  startProvision(request: ProvisionRequest): Promise<{ executionArn: string }>;
}

/** Stops a running workflow execution (cancel). Stopping one that already ended is a no-op. */
export interface WorkflowStopper {
  stop(executionArn: string, reason: { error: string; cause: string }): Promise<void>;
}

export interface FileUrlSigner {
  /** A short-lived URL from which the image file can be downloaded. */
  presignImageFile(key: string, opts: { expiresInSeconds: number; filename: string }): Promise<string>;
}

/**
 * Admission of new images against the account's quotas (core/quota.ts). `admit` counts the owner's
 * images and, for a build, takes one of its build slots for `imageId` — a conditional write; a slot
 * whose image is no longer building is taken over, so slots never leak.
 */
export interface QuotaGate {
  admit(owner: string, imageId: string, opts: { build: boolean }): Promise<void>;
  /** Admits a new machine: under the machines held and the provisionings in flight (QuotaExceededError). */
  admitMachine(owner: string, machineId: string): Promise<void>;
  usage(owner: string): Promise<import('./quota').QuotaUsage & { limits: import('./quota').QuotaLimits }>;
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
  /** Sets the password (its `updated_at` invalidates earlier API tokens). */
  putPassword(cred: import('./credential').PasswordCredential): Promise<void>;
  getPassword(accountId: string): Promise<import('./credential').PasswordCredential | undefined>;
  /**
   * Reserves one password attempt for (source, login) before the hash is computed: one conditional
   * write; false when the pair is blocked or its round is full (credential.ts LoginThrottlePolicy).
   */
  reserveLoginAttempt(source: string, login: string, policy: import('./credential').LoginThrottlePolicy, now: Date): Promise<boolean>;
  /** A wrong password: blocks the pair when its round is full (idempotent under concurrency). */
  recordLoginFailure(source: string, login: string, policy: import('./credential').LoginThrottlePolicy, now: Date): Promise<void>;
  /** A right password: gives the attempt's slot back and forgets past blocks. */
  releaseLoginAttempt(source: string, login: string): Promise<void>;
  putToken(token: import('./credential').TokenCredential): Promise<void>;
  getToken(hash: string): Promise<import('./credential').TokenCredential | undefined>;
  /** Deletes a token of this account (a conditional delete); false when there was none to delete. */
  deleteToken(hash: string, accountId: string): Promise<boolean>;
  putAksk(cred: import('./credential').AkskCredential): Promise<void>;
  getAksk(ak: string): Promise<import('./credential').AkskCredential | undefined>;
  /**
   * Replaces a password hash with a stronger one (same password, new salt and params) only if the
   * item still holds `expect` — a concurrent change or upgrade wins. `updated_at` is kept, so tokens
   * stay valid. False when the condition failed.
   */
  upgradePassword(
    accountId: string,
    expect: { hash: string; salt: string },
    next: Pick<import('./credential').PasswordCredential, 'hash' | 'salt' | 'params'>,
  ): Promise<boolean>;
  /** An account's credentials of one kind, oldest first (one Query on the owner index; secrets included: callers strip them). */
  listKeys(accountId: string): Promise<import('./credential').SshKeyCredential[]>;
  listTokens(accountId: string): Promise<import('./credential').TokenCredential[]>;
  listAksks(accountId: string): Promise<import('./credential').AkskCredential[]>;
  /** Conditional deletes of one credential of this account; false when there was none. */
  deleteKey(login: string, md5Fingerprint: string, accountId: string): Promise<boolean>;
  deleteAksk(ak: string, accountId: string): Promise<boolean>;
}
