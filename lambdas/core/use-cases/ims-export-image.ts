/**
 * ExportImage for IMS (`POST /v1/cloudimages/{id}/file`): the owner writes an active image's disk
 * into their bucket area (user-bucket.ts) at "bucket:key" in the `file_format` asked for, and gets a
 * job. An uncompressed file already in that format is one server-side CopyObject; anything else is
 * converted by the disk-format pipeline (lambdas/pipeline/formats): qcow2 → qcow2 v3, vmdk →
 * streamOptimized (what VMware and OVF tools import), vhd → dynamic VHD, raw → the raw disk, and
 * zvhd — Huawei's own compressed VHD variant, which only Huawei Cloud reads and no public
 * specification describes — → a standard dynamic VHD (sparse, which every VHD reader takes).
 * iso exports only an image stored as iso. A file below `inWorkflow.thresholdBytes` is exported
 * before answering, so the job is recorded already finished (SUCCESS, or FAIL with the storage error)
 * — the same job shape as every other operation. A larger one (a copy or conversion that can outlast
 * a request) is exported by the build workflow (CopyFile, lib/constructs/build-workflow.ts): the job is
 * answered INIT and ends SUCCESS, or FAIL with nothing left at the destination.
 */
import type { Principal } from '../account';
import { NotAvailableError, ServiceError, StateConflictError } from '../errors';
import type { DiskFormat, TargetDiskFormat } from '../image';
import type { Job } from '../job';
import type { Clock, CopyWorkflowStarter, IdGenerator, ImageFileConverter, ImageRepository, JobRepository, ObjectCopier } from '../ports';
import { userBucketKey, type BucketObjectRef } from '../user-bucket';
import { ownedImage } from './image-owner';

/** What each IMS file_format is written as. */
export const IMS_EXPORT_FORMATS: Record<string, TargetDiskFormat> = {
  raw: { format: 'raw' },
  qcow2: { format: 'qcow2' },
  vmdk: { format: 'vmdk', subformat: 'streamOptimized' },
  vhd: { format: 'vhd', subformat: 'dynamic' },
  zvhd: { format: 'vhd', subformat: 'dynamic' },
};

export const exportImageToBucket =
  (deps: {
    images: ImageRepository;
    jobs: JobRepository;
    copier: ObjectCopier;
    converter: ImageFileConverter;
    clock: Clock;
    ids: IdGenerator;
    /** Exports of files this large or larger run in the workflow. */
    inWorkflow?: { thresholdBytes: number; workflow: CopyWorkflowStarter };
  }) =>
  async (caller: Principal, id: string, cmd: { destination: BucketObjectRef; format: DiskFormat | string }): Promise<Job> => {
    const image = await ownedImage(deps.images, caller, id, 'export');
    const file = image.files[0];
    if (image.state !== 'active' || !file)
      throw new StateConflictError(`image ${id} is ${image.state}; only active images can be exported`, image.state);
    const copy = cmd.format === file.format && file.compression === 'none';
    const output = IMS_EXPORT_FORMATS[cmd.format];
    if (!copy && !output) {
      throw new NotAvailableError(
        `image ${id} is stored as ${file.format}; it can be exported as ${Object.keys(IMS_EXPORT_FORMATS).join(', ')}, not ${cmd.format}`,
      );
    }
    const destination = userBucketKey(caller.accountId, cmd.destination);
    const now = deps.clock.now().toISOString();
    const inWorkflow = deps.inWorkflow && file.size >= deps.inWorkflow.thresholdBytes ? deps.inWorkflow : undefined;
    const job: Job = {
      id: deps.ids.uuid(),
      owner: caller.accountId,
      type: 'ExportImage',
      status: inWorkflow ? 'INIT' : 'RUNNING',
      progress: 0,
      entities: { image_id: image.id, image_name: image.name, destination: `${cmd.destination.bucket}:${cmd.destination.key}` },
      created_at: now,
      ...(!inWorkflow && { begin_time: now }),
      rev: 1,
    };
    await deps.jobs.create(job);
    if (inWorkflow) {
      try {
        const request = { kind: 'export' as const, sourceImageId: image.id, file, toKey: destination, ...(!copy && { output: output! }) };
        const { executionArn } = await inWorkflow.workflow.startCopy({ jobId: job.id, owner: caller.accountId, copy: request });
        return await deps.jobs.update(job.id, { statuses: ['INIT', 'RUNNING', 'SUCCESS', 'FAIL'] }, { execution_arn: executionArn });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return deps.jobs.update(
          job.id,
          { statuses: ['INIT'] },
          {
            status: 'FAIL',
            error_code: 'InternalError',
            fail_reason: `could not start the export: ${reason}`,
            end_time: deps.clock.now().toISOString(),
          },
        );
      }
    }
    try {
      if (copy) await deps.copier.copyImageFile(file, destination);
      else await deps.converter.convertImageFile(file, output!, destination);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return deps.jobs.update(
        job.id,
        { statuses: ['RUNNING'] },
        {
          status: 'FAIL',
          error_code: err instanceof ServiceError ? err.code : 'StorageError',
          fail_reason: reason,
          end_time: deps.clock.now().toISOString(),
        },
      );
    }
    return deps.jobs.update(
      job.id,
      { statuses: ['RUNNING'] },
      { status: 'SUCCESS', progress: 100, end_time: deps.clock.now().toISOString() },
    );
  };
