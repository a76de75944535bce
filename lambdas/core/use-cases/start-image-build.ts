/**
 * The shared tail of every "create an image" use case (from a machine, a volume, a bucket object):
 * record the image (`creating`) and its job (`INIT`), start the build workflow, return at once.
 * Writes are ordered so that every intermediate state is safe without transactions: if the job
 * cannot be written or the workflow cannot start, the image is marked `failed` with the reason
 * and the job FAIL, and the caller gets a ServiceUnavailable (or the ServiceError that stopped it).
 */
import { ServiceError, ServiceUnavailableError } from '../errors';
import type { Image } from '../image';
import type { Job, JobType } from '../job';
import { currentCorrelationId } from '../../observability/correlation';
import type { BuildSource, BuildTarget, Clock, IdGenerator, ImageRepository, JobRepository, QuotaGate, WorkflowStarter } from '../ports';

export interface StartBuildDeps {
  images: ImageRepository;
  jobs: JobRepository;
  workflow: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
  /** Per-account quotas (images, concurrent builds), checked before anything is written. */
  quotas?: QuotaGate;
}

/** The image as the use case wants it; id, owner, state, times, files and rev are filled in here. */
export type NewImage = Omit<Image, 'id' | 'owner' | 'state' | 'created_at' | 'updated_at' | 'files' | 'rev' | 'public' | 'acl'> &
  Partial<Pick<Image, 'public' | 'acl'>>;

export interface StartBuildRequest {
  owner: string;
  image: NewImage;
  jobType: JobType;
  /** Extra job entities (machine_id, volume_id, sub_job_ids…); image_id and image_name are set here. */
  entities?: Omit<Job['entities'], 'image_id'>;
  source: BuildSource;
  target: BuildTarget;
}

/** Ids are drawn before anything is written, so a caller can link jobs (parent ↔ sub-jobs) up front. */
export const startImageBuild =
  (deps: StartBuildDeps) =>
  async (req: StartBuildRequest, preset: { imageId?: string; jobId?: string } = {}): Promise<{ image: Image; job: Job }> => {
    const now = deps.clock.now().toISOString();
    const jobId = preset.jobId ?? deps.ids.uuid();
    const correlationId = currentCorrelationId();
    const image: Image = {
      acl: [],
      public: false,
      ...req.image,
      id: preset.imageId ?? deps.ids.uuid(),
      owner: req.owner,
      state: 'creating',
      created_at: now,
      updated_at: now,
      files: [],
      job_id: jobId,
      rev: 1,
    };
    const job: Job = {
      id: jobId,
      owner: req.owner,
      type: req.jobType,
      status: 'INIT',
      progress: 0,
      entities: { ...req.entities, image_id: image.id, image_name: image.name },
      created_at: now,
      ...(correlationId && { correlation_id: correlationId }),
      rev: 1,
    };

    await deps.quotas?.admit(req.owner, image.id, { build: true });
    await deps.images.create(image);
    try {
      await deps.jobs.create(job);
      const { executionArn } = await deps.workflow.startBuild({
        jobId: job.id,
        imageId: image.id,
        owner: req.owner,
        source: req.source,
        target: req.target,
        ...(correlationId && { correlationId }),
      });
      const started = await deps.jobs.update(job.id, { statuses: ['INIT', 'RUNNING', 'SUCCESS', 'FAIL'] }, { execution_arn: executionArn });
      return { image, job: started };
    } catch (err) {
      await failUnstarted(deps, { imageId: image.id, jobId: job.id }, 'InternalError', 'could not start the build', err);
      if (err instanceof ServiceError) throw err;
      throw new ServiceUnavailableError('the build could not be started; try again');
    }
  };

/**
 * An image and its job whose workflow could not be started: the image `failed` (`code`, `what: reason`)
 * and the job FAIL. Best effort: the caller then answers with the error that stopped the start.
 */
export async function failUnstarted(
  deps: { images: ImageRepository; jobs: JobRepository; clock: Clock },
  ids: { imageId: string; jobId: string },
  code: string,
  what: string,
  err: unknown,
): Promise<void> {
  const reason = err instanceof Error ? err.message : String(err);
  await deps.images
    .update(ids.imageId, { states: ['creating'] }, { state: 'failed', error: { code, message: `${what}: ${reason}` } })
    .catch(() => undefined);
  await deps.jobs
    .update(
      ids.jobId,
      { statuses: ['INIT'] },
      { status: 'FAIL', error_code: 'InternalError', fail_reason: reason, end_time: deps.clock.now().toISOString() },
    )
    .catch(() => undefined);
}
