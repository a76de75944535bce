/**
 * UForge wire schemas (zod) for the bodies the dialect reads: an `image` (generate) and an
 * `appliance` (create, update). XML gives every value as a string and JSON as its own type, so
 * booleans and integers take both. Elements the service does not use are ignored, as UForge's JAXB
 * binding ignores unknown elements; a known element of the wrong type (or given twice) is a 400.
 */
import * as z from 'zod';
import { MalformedRequestError } from '../../core/errors';
import type { ApplianceCommand } from '../../core/use-cases/appliances';
import { errorFromIssues } from '../../core/validation';
import { fieldIssues } from '../../http/zod-issues';
import { bodyFields } from './representation';

const xbool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const xint = (max: number) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\s*\d+\s*$/, 'must be a whole number')
        .transform(Number),
    ])
    .pipe(z.number().int('must be a whole number').min(0, 'must be ≥ 0').max(max, `must be ≤ ${max}`));
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const installProfile = z.object({
  memorySize: xint(16 * 1024 * 1024).optional(),
  diskSize: xint(Number.MAX_SAFE_INTEGER).optional(),
});

export const generateBody = z.object({
  compress: xbool.optional(),
  targetFormat: z.object({ name: text(128) }),
  installProfile: z.union([installProfile, z.literal('').transform((): z.infer<typeof installProfile> => ({}))]).optional(),
});

export interface GenerateRequest {
  targetFormat: string;
  compress: boolean;
  installProfile: { memory_size?: number; disk_size?: number };
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw errorFromIssues(fieldIssues(result.error, input));
  return result.data;
}

const required = (input: unknown, root: string): unknown => {
  if (input === undefined) throw new MalformedRequestError(`the request body must be an ${root} object`);
  return input;
};

export function parseGenerate(body: unknown): GenerateRequest {
  const v = parse(generateBody, required(bodyFields(body, 'image'), 'image'));
  const ip = v.installProfile ?? {};
  return {
    targetFormat: v.targetFormat.name,
    compress: v.compress ?? false,
    installProfile: {
      ...(ip.memorySize !== undefined && { memory_size: ip.memorySize }),
      ...(ip.diskSize !== undefined && { disk_size: ip.diskSize }),
    },
  };
}

const osProfile = z.object({ name: text(128), version: text(64), arch: text(32) });

const applianceFields = {
  name: text(255),
  version: text(64),
  description: z.string().max(4096).optional(),
  machineId: text(128),
  osProfile: osProfile.optional(),
  installProfile: installProfile.optional(),
};

export const createAppliance = z.object(applianceFields);
export const updateAppliance = z.object({
  name: applianceFields.name.optional(),
  version: applianceFields.version.optional(),
  description: applianceFields.description,
  machineId: applianceFields.machineId.optional(),
  osProfile: applianceFields.osProfile,
  installProfile: applianceFields.installProfile,
});

type ApplianceInput = z.infer<typeof updateAppliance>;

const toCommand = (v: ApplianceInput): Partial<ApplianceCommand> => ({
  ...(v.name !== undefined && { name: v.name }),
  ...(v.version !== undefined && { version: v.version }),
  ...(v.description !== undefined && { description: v.description }),
  ...(v.machineId !== undefined && { machine_id: v.machineId }),
  ...(v.osProfile !== undefined && { os_profile: v.osProfile }),
  ...(v.installProfile !== undefined && {
    install_profile: {
      ...(v.installProfile.memorySize !== undefined && { memory_size: v.installProfile.memorySize }),
      ...(v.installProfile.diskSize !== undefined && { disk_size: v.installProfile.diskSize }),
    },
  }),
});

export const parseCreateAppliance = (body: unknown): ApplianceCommand =>
  toCommand(parse(createAppliance, required(bodyFields(body, 'appliance'), 'appliance'))) as ApplianceCommand;

export const parseUpdateAppliance = (body: unknown): Partial<ApplianceCommand> =>
  toCommand(parse(updateAppliance, required(bodyFields(body, 'appliance'), 'appliance')));

/** Path ids are ours (UUIDs); anything else names nothing (404, never a 400 that leaks the id format). */
export const isId = (s: string | undefined): s is string =>
  typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
