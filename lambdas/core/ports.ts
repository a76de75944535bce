/**
 * Ports: what the core needs from the outside world. Adapters (DynamoDB, S3, Step Functions)
 * implement them; tests may fake them. No AWS types cross this line.
 */
import type { Account } from './account';
import type { Image, ImageState } from './image';
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
}

export interface JobRepository {
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  update(id: string, expect: { statuses: JobStatus[] }, changes: Partial<Omit<Job, 'id' | 'owner' | 'rev'>>): Promise<Job>;
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

/** Input of the build-image workflow (DESIGN §5). */
export interface BuildRequest {
  jobId: string;
  imageId: string;
  owner: string;
  source: { kind: 'machine'; machineId: string; diskKey: string; diskSize: number };
  target: { format: 'raw'; compression: 'gzip' | 'none' };
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
