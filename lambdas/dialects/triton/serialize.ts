/** Core objects in CloudAPI's JSON: `uuid` becomes `id`, internal fields (keys, rev) never leave. */
import { aclSeenBy, type Image } from '../../core/image';
import { publicJobHistory, type Job } from '../../core/job';
import type { Machine } from '../../core/machine';
import type { Account } from '../../core/account';
import { findPackage, type Package } from '../../core/package';

/** The image as `viewer` sees it: a sharee sees only its own acl entry, never the other sharees. */
export function serializeImage(image: Image, viewer: string): Record<string, unknown> {
  const acl = aclSeenBy(image, viewer);
  return {
    id: image.id,
    name: image.name,
    version: image.version,
    os: image.os,
    type: image.type,
    requirements: image.requirements ?? {},
    ...(image.description !== undefined && { description: image.description }),
    ...(image.homepage !== undefined && { homepage: image.homepage }),
    ...(image.eula !== undefined && { eula: image.eula }),
    ...(acl.length ? { acl } : {}),
    ...(image.tags && Object.keys(image.tags).length ? { tags: image.tags } : {}),
    ...(image.published_at !== undefined && { published_at: image.published_at }),
    owner: image.owner,
    public: image.public,
    state: image.state,
    files: (image.files ?? []).map((f) => ({ compression: f.compression, sha1: f.sha1, sha256: f.sha256, size: f.size })),
    ...(image.origin !== undefined && { origin: image.origin }),
    ...(image.state === 'failed' && image.error ? { error: image.error } : {}),
  };
}

export function serializeJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    ...(job.phase !== undefined && { phase: job.phase }),
    ...(job.eta !== undefined && (job.status === 'INIT' || job.status === 'RUNNING') && { eta: job.eta }),
    entities: job.entities,
    created_at: job.created_at,
    begin_time: job.begin_time ?? null,
    end_time: job.end_time ?? null,
    error_code: job.error_code ?? null,
    fail_reason: job.fail_reason ?? null,
    // our extension: failed attempts and retries of the workflow's steps (docs/decisions/retry-history.md)
    history: publicJobHistory(job),
  };
}

const BRANDS: Record<string, string> = { 'zone-dataset': 'joyent', 'lx-dataset': 'lx', zvol: 'bhyve' };

export function serializeMachine(m: Machine): Record<string, unknown> {
  const disk = m.disks.reduce((n, d) => n + d.size, 0);
  return {
    id: m.id,
    name: m.name,
    type: m.type === 'zvol' ? 'virtualmachine' : 'smartmachine',
    brand: BRANDS[m.type] ?? m.type,
    state: m.state,
    image: m.image,
    os: m.os,
    disk: Math.ceil(disk / (1024 * 1024)),
    ...(m.package && findPackage(m.package) ? { package: findPackage(m.package)!.name, memory: findPackage(m.package)!.memory } : {}),
    disks: m.disks.map((d) => ({ id: d.id, boot: d.boot, size: Math.ceil(d.size / (1024 * 1024)) })),
    created: m.created_at,
    updated: m.updated_at,
    // our extension, as on images: why provisioning failed
    ...(m.state === 'failed' && m.error ? { error: m.error } : {}),
  };
}

/** CloudAPI's account (GetAccount): `id`, `login`, `email`, times. */
export function serializeAccount(a: Account): Record<string, unknown> {
  return { id: a.id, login: a.login, email: a.email ?? '', created: a.created_at, updated: a.created_at };
}

export function serializePackage(p: Package): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    memory: p.memory,
    disk: p.disk,
    swap: p.swap,
    vcpus: p.vcpus,
    lwps: p.lwps,
    version: p.version,
    group: p.group,
    description: p.description,
    default: p.default,
  };
}

/** The manifest written beside an exported file: IMGAPI's manifest (v2), `uuid` and all. */
export function imageManifest(image: Image): Record<string, unknown> {
  const { id, ...rest } = serializeImage(image, image.owner);
  return { v: 2, uuid: id, ...rest, disabled: image.state === 'disabled' };
}
