/**
 * Core objects → UForge objects (dto-objects in the UForge API reference): `appliance`, `image`
 * (the image ticket), `status` (opStatus), `targetFormat`. URIs are relative to the API root, as
 * UForge writes them (`users/<login>/appliances/<aid>/images/<itid>`); clients take an object's id
 * from its URI's last segment. Every body is `{ <root element>: fields }` (representation.ts).
 */
import type { Appliance } from '../../core/appliance';
import type { Job } from '../../core/job';
import { generatedFileName, type GeneratedImage } from '../../core/use-cases/appliance-images';
import { TARGET_FORMATS, type TargetFormat } from './target-formats';

export const applianceUri = (login: string, id: string) => `users/${login}/appliances/${id}`;
export const imageUri = (login: string, applianceId: string, id: string) => `${applianceUri(login, applianceId)}/images/${id}`;

function installProfileOf(p: { memory_size?: number; disk_size?: number }, uri?: string) {
  return {
    ...(uri && { uri }),
    ...(p.disk_size !== undefined && { diskSize: p.disk_size }),
    ...(p.memory_size !== undefined && { memorySize: p.memory_size }),
  };
}

export function serializeAppliance(a: Appliance, login: string) {
  const uri = applianceUri(login, a.id);
  return {
    created: a.created_at,
    lastModified: a.updated_at,
    uri,
    name: a.name,
    version: a.version,
    ...(a.description !== undefined && { description: a.description }),
    revision: a.rev,
    ...(a.os_profile && { distributionName: `${a.os_profile.name} ${a.os_profile.version}`, archName: a.os_profile.arch }),
    baseImagesUri: `${uri}/images`,
    baseImagesStatusUri: `${uri}/images/statuses`,
    installProfileUri: `${uri}/installProfile`,
    installProfile: installProfileOf(a.install_profile, `${uri}/installProfile`),
    ...(a.os_profile && {
      osProfileUri: `${uri}/osprofile`,
      osProfile: {
        uri: `${uri}/osprofile`,
        name: a.os_profile.name,
        version: a.os_profile.version,
        arch: a.os_profile.arch,
        applianceUri: uri,
      },
    }),
    machineId: a.machine_id,
  };
}

/** UForge's opStatus of a generation, from its job. */
export function serializeStatus(g: GeneratedImage, login: string, now: Date) {
  const job = g.job;
  const uri = `${imageUri(login, g.record.appliance_id, g.record.id)}/status`;
  const status = job?.status ?? 'FAIL';
  const complete = status === 'SUCCESS';
  const error = status === 'FAIL' || !job;
  const cancelled = status === 'CANCELLED';
  const percentage = complete ? 100 : (job?.progress ?? 0);
  return {
    ...(job && { created: job.created_at }),
    uri,
    parentUri: imageUri(login, g.record.appliance_id, g.record.id),
    percentage,
    message: messageOf(job),
    complete,
    error,
    ...(error && { errorMessage: job?.fail_reason ?? 'the generation could not be started', detailedError: false }),
    cancelled,
    ...(etaOf(job, now) && { eta: etaOf(job, now) }),
    ...(job?.end_time && job.begin_time && { totalTime: new Date(Date.parse(job.end_time) - Date.parse(job.begin_time)).toISOString() }),
  };
}

function messageOf(job: Job | undefined): string {
  switch (job?.status) {
    case 'INIT':
      return 'Waiting to start';
    case 'RUNNING':
      return job.phase === 'BuildImageFile' ? 'Generating machine image' : `Generating (${job.phase ?? 'preparing'})`;
    case 'SUCCESS':
      return 'Generation complete';
    case 'CANCELLED':
      return 'Generation cancelled';
    default:
      return 'Generation failed';
  }
}

/** Linear estimate from the progress so far, once there is some. */
function etaOf(job: Job | undefined, now: Date): string | undefined {
  if (job?.status !== 'RUNNING' || !job.begin_time || job.progress < 10) return undefined;
  const elapsed = now.getTime() - Date.parse(job.begin_time);
  return new Date(Date.parse(job.begin_time) + (elapsed * 100) / job.progress).toISOString();
}

export function serializeTargetFormat(f: TargetFormat, login: string) {
  return {
    uri: `users/${login}/targetformats/${encodeURIComponent(f.name)}`,
    name: f.name,
    format: { name: f.primitive },
    type: f.type,
    access: true,
    active: true,
  };
}

/** The image ticket / machine image object. `downloadKey` and `downloadUri` only once it can be downloaded. */
export function serializeImage(g: GeneratedImage, login: string, now: Date) {
  const { record, image } = g;
  const uri = imageUri(login, record.appliance_id, record.id);
  const target = TARGET_FORMATS.find((f) => f.name === record.target_format);
  const file = image?.state === 'active' ? image.files[0] : undefined;
  const compressed = record.compression === 'gzip';
  const extension = target?.extension ?? record.format;
  const fileName = image ? generatedFileName(record, image, extension) : undefined;
  const downloadable = Boolean(file) && compressed;
  return {
    created: record.created_at,
    lastModified: record.updated_at,
    ...(file && { sha256sum: file.sha256, size: file.size, uploaded: true, uploadedTime: image?.published_at }),
    status: serializeStatus(g, login, now),
    uri,
    parentUri: applianceUri(login, record.appliance_id),
    statusUri: `${uri}/status`,
    ...(image && { name: image.name, version: image.version }),
    ...(image?.os_version && { distributionName: image.os_version }),
    compress: compressed,
    ...(file && { completeSize: file.size, fileSize: file.size }),
    fileExtension: compressed ? `${extension}.gz` : extension,
    ...(fileName && { fileName, fullName: fileName }),
    imageCreated: Boolean(file),
    ...(downloadable && { downloadUri: `${uri}/downloads`, downloadKey: record.download_key }),
    revision: record.appliance_revision,
    ...(record.install_profile.memory_size !== undefined && { vmMemorySize: record.install_profile.memory_size }),
    ...(record.install_profile.disk_size !== undefined && { vmDiskSize: record.install_profile.disk_size }),
    ...(target && { targetFormat: { name: target.name, format: { name: target.primitive }, type: target.type } }),
    installProfile: installProfileOf(record.install_profile),
  };
}
