/**
 * IMS wire schemas (zod) for `POST /v2/cloudimages/action` (spec: huawei-ims-create-image.txt),
 * PATCH, the list query and export. Their output is a core command.
 *
 * The create body has three documented forms, told apart by their key field: `instance_id` (from a
 * machine, optionally with `data_images`; or `data_images` alone: data-disk images of volumes),
 * `image_url` (from a file in the caller's bucket) and `volume_id` (a system image from a data disk).
 * Each form is a strict object, so a body that mixes forms names the foreign fields (400 IMG.0001),
 * and a missing required field is reported by name (IMG.0013 for `name`, IMG.0012 `instance_id`).
 */
import * as z from 'zod';
import type { TagValue } from '../../core/image';
import type { BucketObjectRef } from '../../core/user-bucket';
import { bucketObjectProblem } from '../../core/user-bucket';
import type { ImageAttributes, ImsCreateCommand } from '../../core/use-cases/ims-create-image';
import { errorFromIssues } from '../../core/validation';
import { fieldIssues } from '../../http/zod-issues';

/** Image names: 1–128 characters (IMG.0002) of letters, digits, spaces, "_", "-", "." (IMG.0003). */
export const imageName = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[\p{L}\p{N}_.\- ]+$/u, 'format is invalid: letters, digits, spaces, "_", "-" and "." only')
  .refine((s) => s.trim() === s, 'format is invalid: no leading or trailing spaces');

/** Descriptions: ≤ 1024 characters, no carriage returns or angle brackets (IMG.0004). */
export const description = z
  .string()
  .max(1024, 'must be at most 1024 characters')
  .refine((s) => !/[\r\n<>]/.test(s), 'must not contain carriage returns or angle brackets');

const tagString = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^.]+(\..*)?$/, 'must be "key.value"');
const imageTag = z.strictObject({ key: z.string().min(1).max(128), value: z.string().max(255) });
const ram = z
  .number()
  .int('must be an integer')
  .min(0, 'must be ≥ 0')
  .max(1024 * 1024);
const osVersion = z.string().min(1).max(255);

/** "bucket:key" (IMS `image_url`, `bucket_url`). */
export const bucketUrl = z
  .string()
  .max(1100)
  .transform((s, ctx): BucketObjectRef => {
    const i = s.indexOf(':');
    const bucket = i > 0 ? s.slice(0, i) : '';
    const key = i > 0 ? s.slice(i + 1) : '';
    const problem = i > 0 ? bucketObjectProblem({ bucket, key }) : 'has no "bucket:" part';
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `must be "bucket:file" with a valid bucket name and file name: ${problem}` });
      return z.NEVER;
    }
    return { bucket, key };
  });

const shared = {
  name: imageName,
  description: description.optional(),
  tags: z.array(tagString).max(50).optional(),
  image_tags: z.array(imageTag).max(50).optional(),
  min_ram: ram.optional(),
  max_ram: ram.optional(),
};

const machineDataImage = z.strictObject({
  name: imageName,
  volume_id: z.string().min(1).max(64),
  description: description.optional(),
  tags: z.array(tagString).max(50).optional(),
  image_tags: z.array(imageTag).max(50).optional(),
});

export const fromMachine = z.strictObject({
  ...shared,
  instance_id: z.string().min(1).max(64),
  data_images: z.array(machineDataImage).max(16).optional(),
});
export const dataImagesOnly = z.strictObject({ data_images: z.array(machineDataImage).min(1).max(16) });

const bucketDataImage = z.strictObject({
  name: imageName.optional(),
  description: description.optional(),
  image_url: bucketUrl,
  min_disk: z.number().int('must be an integer').min(1, 'must be 1–2048').max(2048, 'must be 1–2048'),
  is_quick_import: z.boolean().optional(),
  tags: z.array(tagString).max(50).optional(),
  image_tags: z.array(imageTag).max(50).optional(),
});

export const fromBucket = z.strictObject({
  ...shared,
  image_url: bucketUrl,
  min_disk: z.number().int('must be an integer').min(40, 'must be 40–255').max(255, 'must be 40–255'),
  os_type: z.enum(['Linux', 'Windows', 'Other']).optional(),
  os_version: osVersion.optional(),
  is_config: z.boolean().optional(),
  is_quick_import: z.boolean().optional(),
  cmk_id: z.string().min(1).max(128).optional(),
  data_images: z.array(bucketDataImage).max(3, 'at most 3 data images').optional(),
});

export const fromVolume = z.strictObject({
  ...shared,
  volume_id: z.string().min(1).max(64),
  os_version: osVersion,
  type: z.enum(['ECS', 'BMS', 'FusionCompute', 'Ironic']).optional(),
});

/** The shared rules that span fields: tags XOR image_tags, min_ram ≤ max_ram. */
function crossFieldIssues(body: Record<string, unknown>, prefix = ''): { field: string; code: 'Invalid'; message: string }[] {
  const out: { field: string; code: 'Invalid'; message: string }[] = [];
  if (body.tags !== undefined && body.image_tags !== undefined)
    out.push({ field: `${prefix}image_tags`, code: 'Invalid', message: 'use either tags or image_tags, not both' });
  if (typeof body.min_ram === 'number' && typeof body.max_ram === 'number' && body.min_ram > body.max_ram) {
    out.push({ field: `${prefix}min_ram`, code: 'Invalid', message: 'must not exceed max_ram' });
  }
  return out;
}

function parse<T extends z.ZodType>(schema: T, input: Record<string, unknown>): z.output<T> {
  const result = schema.safeParse(input);
  const cross = [
    ...crossFieldIssues(input),
    ...(Array.isArray(input.data_images)
      ? input.data_images.flatMap((d, i) =>
          d && typeof d === 'object' ? crossFieldIssues(d as Record<string, unknown>, `data_images.${i}.`) : [],
        )
      : []),
  ];
  if (result.success && cross.length === 0) return result.data;
  throw errorFromIssues([...(result.success ? [] : fieldIssues(result.error, input)), ...cross]);
}

function tagsOf(b: { tags?: string[]; image_tags?: { key: string; value: string }[] }): Record<string, TagValue> | undefined {
  if (b.image_tags) return Object.fromEntries(b.image_tags.map((t) => [t.key, t.value]));
  if (b.tags) {
    return Object.fromEntries(
      b.tags.map((t) => {
        const i = t.indexOf('.');
        return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
      }),
    );
  }
  return undefined;
}

const OS: Record<string, string> = { Linux: 'linux', Windows: 'windows', Other: 'other' };
const osFromVersion = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : /windows/i.test(v) ? 'windows' : 'linux';

function attributes(
  b: {
    name: string;
    description?: string;
    tags?: string[];
    image_tags?: { key: string; value: string }[];
    min_ram?: number;
    max_ram?: number;
  },
  extra: Partial<ImageAttributes> = {},
): ImageAttributes {
  const tags = tagsOf(b);
  const requirements = { ...(b.min_ram !== undefined && { min_ram: b.min_ram }), ...(b.max_ram !== undefined && { max_ram: b.max_ram }) };
  return {
    name: b.name,
    ...(b.description !== undefined && { description: b.description }),
    ...(tags && { tags }),
    requirements,
    ...extra,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function parseCreateImage(body: unknown): ImsCreateCommand {
  if (body === undefined || (isObject(body) && Object.keys(body).length === 0)) {
    throw errorFromIssues([{ field: '(body)', code: 'MissingParameter', message: 'the request body is empty' }]);
  }
  if (!isObject(body)) throw errorFromIssues([{ field: '(body)', code: 'Invalid', message: 'the body must be a JSON object' }]);

  const keyFields = (['instance_id', 'image_url', 'volume_id'] as const).filter((k) => body[k] !== undefined);
  if (keyFields.length > 1) {
    throw errorFromIssues(
      keyFields.slice(1).map((k) => ({
        field: k,
        code: 'Invalid',
        message: `cannot be combined with ${keyFields[0]}: a request creates an image from one kind of source`,
      })),
    );
  }
  switch (keyFields[0]) {
    case 'instance_id': {
      const b = parse(fromMachine, body);
      return {
        form: 'machine',
        machine: b.instance_id,
        system: attributes(b),
        dataImages: (b.data_images ?? []).map((d) => ({ ...attributes(d), volume: d.volume_id })),
      };
    }
    case 'image_url': {
      const b = parse(fromBucket, body);
      if (b.is_quick_import && b.os_version === undefined) {
        throw errorFromIssues([{ field: 'os_version', code: 'MissingParameter', message: 'is required with is_quick_import' }]);
      }
      const os = b.os_type ? OS[b.os_type] : (osFromVersion(b.os_version) ?? 'other');
      return {
        form: 'bucketObject',
        object: b.image_url,
        system: { ...attributes(b, { os, ...(b.os_version !== undefined && { os_version: b.os_version }) }), minDiskGiB: b.min_disk },
        dataImages: (b.data_images ?? []).map((d, i) => ({
          ...attributes({ ...d, name: d.name ?? `${b.name}-data-${i + 1}` }, { os }),
          object: d.image_url,
          minDiskGiB: d.min_disk,
        })),
      };
    }
    case 'volume_id': {
      const b = parse(fromVolume, body);
      return { form: 'volume', volume: b.volume_id, system: attributes(b, { os_version: b.os_version, os: osFromVersion(b.os_version) }) };
    }
    default: {
      if (body.data_images !== undefined) {
        const b = parse(dataImagesOnly, body);
        return { form: 'dataVolumes', dataImages: b.data_images.map((d) => ({ ...attributes(d), volume: d.volume_id })) };
      }
      // No key field: report what a machine image needs (the first documented form).
      parse(fromMachine, body);
      throw errorFromIssues([{ field: 'instance_id', code: 'MissingParameter', message: 'is required' }]);
    }
  }
}

/** `POST /v1/cloudimages/{image_id}/file`. */
export const exportBody = z.strictObject({
  bucket_url: bucketUrl,
  file_format: z.enum(['qcow2', 'vhd', 'zvhd', 'vmdk', 'raw', 'iso']),
  is_quick_export: z.boolean().optional(),
});

export function parseExport(body: unknown) {
  if (body === undefined) throw errorFromIssues([{ field: '(body)', code: 'MissingParameter', message: 'the request body is empty' }]);
  if (!isObject(body)) throw errorFromIssues([{ field: '(body)', code: 'Invalid', message: 'the body must be a JSON object' }]);
  return parse(exportBody, body);
}

/** `PATCH /v2/cloudimages/{image_id}`: a JSON-patch list over the updatable attributes. */
export const patchOp = z.strictObject({
  op: z.enum(['replace', 'add', 'remove']),
  path: z.enum(['/name', '/__description', '/min_ram', '/max_ram', '/__os_version']),
  value: z.unknown().optional(),
});

export interface ImsImageChanges {
  name?: string;
  /** null removes it. */
  description?: string | null;
  min_ram?: number | null;
  max_ram?: number | null;
  os_version?: string | null;
}

export function parsePatch(body: unknown): ImsImageChanges {
  if (body === undefined) throw errorFromIssues([{ field: '(body)', code: 'MissingParameter', message: 'the request body is empty' }]);
  const ops = z.array(patchOp).min(1).max(20).safeParse(body);
  if (!ops.success) throw errorFromIssues(fieldIssues(ops.error, body));
  const changes: ImsImageChanges = {};
  const issues: { field: string; code: 'Invalid' | 'MissingParameter'; message: string }[] = [];
  ops.data.forEach((o, i) => {
    const attr = o.path.slice(1);
    const field = attr === '__description' ? 'description' : attr === '__os_version' ? 'os_version' : attr;
    if (o.op === 'remove') {
      if (field === 'name') issues.push({ field: 'name', code: 'Invalid', message: 'the name cannot be removed' });
      else (changes as Record<string, unknown>)[field] = null;
      return;
    }
    if (o.value === undefined) {
      issues.push({ field: `${i}.value`, code: 'MissingParameter', message: 'is required' });
      return;
    }
    const schema = field === 'name' ? imageName : field === 'description' ? description : field === 'os_version' ? osVersion : ram;
    const r = (schema as z.ZodType).safeParse(o.value);
    if (!r.success) issues.push({ field, code: 'Invalid', message: r.error.issues[0]?.message ?? 'is invalid' });
    else (changes as Record<string, unknown>)[field] = r.data;
  });
  if (issues.length) throw errorFromIssues(issues);
  return changes;
}
