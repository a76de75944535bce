/**
 * ExportImage for IMS (`POST /v1/cloudimages/{id}/file`): the owner copies an active image's file
 * into their bucket area (user-bucket.ts) at "bucket:key", and gets a job. Format conversion arrives
 * with the formats issue: until then only the stored format can be exported, and only an
 * uncompressed file (a gzip file is not a disk in any format), each refused with a clear NotAvailable.
 * The copy is one server-side CopyObject, done before answering, so the job is recorded already
 * finished (SUCCESS, or FAIL with the storage error) — the same job shape as every other operation.
 */
import type { Principal } from '../account';
import { NotAvailableError, ServiceError, StateConflictError } from '../errors';
import type { DiskFormat } from '../image';
import type { Job } from '../job';
import type { Clock, IdGenerator, ImageRepository, JobRepository, ObjectCopier } from '../ports';
import { userBucketKey, type BucketObjectRef } from '../user-bucket';
import { ownedImage } from './image-owner';

export const exportImageToBucket =
  (deps: { images: ImageRepository; jobs: JobRepository; copier: ObjectCopier; clock: Clock; ids: IdGenerator }) =>
  async (caller: Principal, id: string, cmd: { destination: BucketObjectRef; format: DiskFormat | string }): Promise<Job> => {
    const image = await ownedImage(deps.images, caller, id, 'export');
    const file = image.files[0];
    if (image.state !== 'active' || !file) throw new StateConflictError(`image ${id} is ${image.state}; only active images can be exported`, image.state);
    if (cmd.format !== file.format) {
      throw new NotAvailableError(`image ${id} is stored as ${file.format}; export to ${cmd.format} needs a format conversion, which is not available yet`);
    }
    if (file.compression !== 'none') {
      throw new NotAvailableError(`image ${id}'s file is ${file.compression}-compressed; exporting it needs decompression, which is not available yet`);
    }
    const destination = userBucketKey(caller.accountId, cmd.destination);
    const now = deps.clock.now().toISOString();
    const job: Job = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      type: 'ExportImage',
      status: 'RUNNING',
      progress: 0,
      entities: { image_id: image.id, image_name: image.name, destination: `${cmd.destination.bucket}:${cmd.destination.key}` },
      created_at: now,
      begin_time: now,
      rev: 1,
    };
    await deps.jobs.create(job);
    try {
      await deps.copier.copyImageFile(file, destination);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return deps.jobs.update(job.id, { statuses: ['RUNNING'] }, { status: 'FAIL', error_code: err instanceof ServiceError ? err.code : 'StorageError', fail_reason: reason, end_time: deps.clock.now().toISOString() });
    }
    return deps.jobs.update(job.id, { statuses: ['RUNNING'] }, { status: 'SUCCESS', progress: 100, end_time: deps.clock.now().toISOString() });
  };
