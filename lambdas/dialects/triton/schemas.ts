/**
 * Triton wire schemas (zod). Their output is a core command. Name and version rules follow the
 * IMGAPI manifest docs (name ≤ 512 chars of [A-Za-z0-9._/ -], version ≤ 128 of [A-Za-z0-9._/-]).
 */
import * as z from 'zod';
import type { CreateImageFromMachineCommand } from '../../core/use-cases/create-image-from-machine';
import { errorFromIssues } from '../../core/validation';
import { fieldIssues } from '../../http/zod-issues';

export const imageName = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9._/ -]+$/, 'may contain only letters, digits, ".", "_", "/", " " and "-"');
export const imageVersion = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._/-]+$/, 'may contain only letters, digits, ".", "_", "/" and "-"');
const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);
const tagKey = z.string().min(1).max(128);
const tagValue = z.union([z.string().max(1024), z.number(), z.boolean()]);

export const createImageFromMachineBody = z.strictObject({
  machine: z.guid(),
  name: imageName,
  version: imageVersion,
  description: z.string().max(512).optional(),
  homepage: httpUrl.optional(),
  eula: httpUrl.optional(),
  acl: z.array(z.guid()).max(100).optional(),
  tags: z
    .record(tagKey, tagValue)
    .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags')
    .optional(),
  /** An extension of CloudAPI's inputs: how the image file is compressed (default gzip). */
  compression: z.enum(['gzip', 'none']).optional(),
});

/** Parses `input` with `schema`, or throws the core error that reports every field at once. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw errorFromIssues([{ field: '(body)', code: 'Invalid', message: 'the body must be a JSON object' }]);
  }
  throw errorFromIssues(fieldIssues(result.error, input ?? {}));
}

export const parseCreateImageFromMachine = (body: unknown): CreateImageFromMachineCommand => parseWith(createImageFromMachineBody, body);

export const uuidParam = z.guid();

/** UpdateImage (`?action=update`): the fields the CLI may send; tags replace, acl is the full list. */
export const updateImageBody = z.strictObject({
  name: imageName.optional(),
  version: imageVersion.optional(),
  description: z.string().max(512).optional(),
  homepage: httpUrl.optional(),
  eula: httpUrl.optional(),
  acl: z.array(z.guid()).max(100).optional(),
  tags: z
    .record(tagKey, tagValue)
    .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags')
    .optional(),
});

/** ExportImage (`action=export`, in the query or the body as the CLI sends it). */
export const exportImageBody = z.strictObject({ manta_path: z.string().min(1).max(1024) });

/** CloneImage takes no fields. */
export const cloneImageBody = z.strictObject({});

const imageStateFilter = z.enum(['all', 'active', 'unactivated', 'disabled', 'creating', 'failed']);

/** ListImages filters (CloudAPI), plus `tag.KEY=VALUE`, handled by the handler. */
export const listImagesQuery = z.object({
  name: z.string().min(1).max(512).optional(),
  os: z.string().min(1).max(128).optional(),
  version: z.string().min(1).max(128).optional(),
  public: z.enum(['true', 'false']).optional(),
  state: imageStateFilter.optional(),
  owner: z.string().min(1).max(64).optional(),
  type: z.string().min(1).max(64).optional(),
  /** Extension: `pending` or `rejected` lists those shares instead (docs/decisions/sharing-consent.md). */
  member_status: z.enum(['accepted', 'pending', 'rejected']).optional(),
});

/** CreateMachine: `image` and `package` (uuid or name); other CloudAPI fields are accepted and ignored. */
export const createMachineBody = z.looseObject({
  image: z.guid(),
  package: z.string().min(1).max(128),
  name: z
    .string()
    .min(1)
    .max(189)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"')
    .optional(),
});

/** ListMachines: filters and CloudAPI's offset paging. */
export const listMachinesQuery = z.object({
  name: z.string().min(1).max(189).optional(),
  state: z.enum(['running', 'stopped', 'provisioning', 'failed']).optional(),
  image: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
});
