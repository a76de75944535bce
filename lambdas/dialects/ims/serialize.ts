/**
 * Core objects in IMS's JSON: images as `GET /v2/cloudimages` lists them (Glance v2 base fields plus
 * IMS's `__`-prefixed extensions), jobs as `GET /v1/{project_id}/jobs/{job_id}` and the newer
 * `GET /v1/cloudimages/job/{job_id}` (ShowJobProgress) return them.
 */
import type { Image, ImageState } from '../../core/image';
import { publicJobHistory, type Job, type JobStatus, type JobType } from '../../core/job';
import type { JobFamily } from '../../core/use-cases/ims-jobs';

/** Core image states → IMS (Glance) statuses. */
export const IMS_STATUS: Record<ImageState, string> = {
  creating: 'saving',
  unactivated: 'queued',
  active: 'active',
  disabled: 'deactivated',
  failed: 'killed',
  deleted: 'deleted',
};

export const IMS_JOB_TYPE: Record<JobType, string> = {
  CreateImageFromMachine: 'imsCreateImageByInstance',
  CreateImageFromVolume: 'imsVolumeCreateImageJob',
  ImportImage: 'imsImportImageJob',
  ExportImage: 'imsExportImageJob',
  UpdateMemberStatus: 'imsUpdateMemberStatusJob',
  CloneImage: 'imsCopyImageJob',
};

/** `__imagetype`: gold = public images, shared = visible through the acl, private = the caller's. */
export function imageType(image: Pick<Image, 'owner' | 'public'>, accountId: string): 'gold' | 'shared' | 'private' {
  if (image.owner === accountId) return 'private';
  return image.public ? 'gold' : 'shared';
}

export const osType = (os: string): string => (os === 'windows' ? 'Windows' : os === 'other' ? 'Other' : 'Linux');

/** `__platform`: the distribution named first in the OS version ("CentOS 7.0 64bit" → CentOS). */
export function platform(image: Pick<Image, 'os' | 'os_version'>): string {
  const first = image.os_version?.trim().split(/\s+/)[0];
  if (first) return first;
  return image.os === 'windows' ? 'Windows' : 'Other';
}

const GiB = 1024 ** 3;

export function serializeImage(image: Image, accountId: string): Record<string, unknown> {
  const file = image.files?.[0];
  const type = imageType(image, accountId);
  const dataDisk = image.type === 'data-disk';
  return {
    id: image.id,
    name: image.name,
    status: IMS_STATUS[image.state],
    visibility: image.public ? 'public' : image.acl?.length ? 'shared' : 'private',
    owner: image.owner,
    protected: false,
    __imagetype: type,
    __image_source_type: 'uds',
    __isregistered: 'true',
    __os_type: osType(image.os),
    __os_version: image.os_version ?? '',
    __platform: platform(image),
    __os_bit: /32\s*bit/i.test(image.os_version ?? '') ? '32' : '64',
    __description: image.description ?? '',
    __image_location: type === 'private' ? 'local' : '',
    // IMS names the source: "instance,<server id>", "volume,<volume id>" or "file,<bucket:key>" —
    // the owner's own resources, so only the owner is told.
    __data_origin:
      image.made_from && image.owner === accountId
        ? `${image.made_from.kind === 'machine' ? 'instance' : image.made_from.kind},${image.made_from.id}`
        : '',
    __support_kvm: 'true',
    virtual_env_type: dataDisk ? 'DataImage' : 'FusionCompute',
    disk_format: file?.format ?? 'raw',
    container_format: 'bare',
    min_disk: image.requirements?.min_disk ?? (file ? 0 : 0),
    min_ram: image.requirements?.min_ram ?? 0,
    max_ram: image.requirements?.max_ram !== undefined ? String(image.requirements.max_ram) : '',
    size: file?.size ?? null,
    __image_size: file ? String(file.size) : '0',
    checksum: file?.sha1 ?? null,
    os_hash_algo: file ? 'sha256' : null,
    os_hash_value: file?.sha256 ?? null,
    tags: Object.entries(image.tags ?? {}).map(([k, v]) => (v === '' ? k : `${k}.${String(v)}`)),
    created_at: isoSeconds(image.created_at),
    updated_at: isoSeconds(image.updated_at),
    ...(image.state === 'active' && { active_at: isoSeconds(image.published_at ?? image.updated_at) }),
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
    ...(image.state === 'failed' && image.error ? { __fail_reason: image.error.message } : {}),
    ...(file && { __virtual_size_gib: Math.ceil(file.size / GiB) }),
  };
}

/** Glance/IMS timestamps: `2024-11-06T06:19:43Z`. */
const isoSeconds = (t: string): string => t.replace(/\.\d+Z$/, 'Z');

const wireStatus = (s: JobStatus): string => (s === 'CANCELLED' ? 'FAIL' : s);

function jobBody(job: Job, over: { status: JobStatus; error_code?: string; fail_reason?: string; end_time?: string }) {
  return {
    job_id: job.id,
    job_type: IMS_JOB_TYPE[job.type],
    status: wireStatus(over.status),
    begin_time: job.begin_time ?? job.created_at,
    end_time: over.end_time ?? null,
    error_code: over.status === 'FAIL' || over.status === 'CANCELLED' ? (over.error_code ?? 'InternalError') : null,
    fail_reason: over.status === 'FAIL' || over.status === 'CANCELLED' ? (over.fail_reason ?? 'the job failed') : null,
  };
}

function subJobsResult(family: JobFamily) {
  return family.subJobs.map((sub) =>
    'missing' in sub
      ? { job_id: sub.id, status: 'FAIL', error_code: 'InternalError', fail_reason: 'the sub-job was never started', entities: {} }
      : { ...jobBody(sub, sub), entities: { image_id: sub.entities.image_id, image_name: sub.entities.image_name } },
  );
}

export function serializeJob(family: JobFamily): Record<string, unknown> {
  const { job } = family;
  return {
    ...jobBody(job, family),
    entities: {
      image_id: job.entities.image_id,
      ...(job.entities.image_name !== undefined && { image_name: job.entities.image_name }),
      ...(family.subJobs.length ? { sub_jobs_result: subJobsResult(family) } : {}),
      // our extension: failed attempts and retries of the workflow's steps (docs/decisions/retry-history.md)
      ...(job.history?.length ? { history: publicJobHistory(job) } : {}),
    },
  };
}

/** ShowJobProgress: the same, with `process_percent` (a fraction) and `current_task`. */
export function serializeJobProgress(family: JobFamily): Record<string, unknown> {
  const base = serializeJob(family);
  const { job } = family;
  const task = family.status === 'SUCCESS' ? 'Finished' : (job.phase ?? (family.status === 'INIT' ? 'Queued' : 'Running'));
  return {
    ...base,
    entities: {
      ...(base.entities as Record<string, unknown>),
      process_percent: family.status === 'SUCCESS' ? 1 : Math.round(family.progress) / 100,
      current_task: `${IMS_JOB_TYPE[job.type]}:${task}`,
      // our extension: the expected end (ISO 8601) from the measured rate of progress, while running
      ...(job.eta !== undefined && (family.status === 'INIT' || family.status === 'RUNNING') && { eta: job.eta }),
    },
  };
}
