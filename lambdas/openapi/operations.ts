/**
 * What the OpenAPI document (lambdas/openapi/document.ts) says about each operation of the route table
 * beyond its method, path and auth: a summary, the success status, the query parameters and the request
 * body — as the zod schemas the handlers parse with, so the description cannot drift from the parser —
 * and an example for every body (test/unit/openapi.test.ts validates each against its schema).
 */
import * as z from 'zod';
import {
  cloneImageBody,
  createImageFromMachineBody,
  createMachineBody,
  exportImageBody,
  listImagesQuery,
  listMachinesQuery,
  updateImageBody,
} from '../dialects/triton/schemas';
import { waitQuery } from '../dialects/triton/long-poll';
import { listQuery as imsListQuery } from '../dialects/ims/query';
import { dataImagesOnly, exportBody, fromBucket, fromMachine, fromVolume, patchOp } from '../dialects/ims/schemas';
import { updateMemberStatusBody } from '../dialects/ims/handlers/update-member-status';
import { createAppliance, generateBody, updateAppliance } from '../dialects/uforge/schemas';

export interface BodyDoc {
  schema: z.ZodType;
  /** Named examples; each must validate against `schema`. */
  examples: Record<string, unknown>;
  required?: boolean;
  /** Besides application/json (UForge reads XML too, under the root element named here). */
  xmlRoot?: string;
}

export interface OperationDoc {
  summary: string;
  /** The success status (default 200). */
  status?: number;
  query?: z.ZodObject;
  body?: BodyDoc;
}

const EXAMPLE_ID = '2b7c6f4e-1d3a-4c5b-9e8f-0a1b2c3d4e5f';
const OTHER_ID = '7f0c1e2d-3b4a-4596-8a7b-6c5d4e3f2a10';

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Page size (1–1000).'),
  marker: z.string().max(2048).optional().describe('Opaque marker from the previous page (`x-next-marker`).'),
});
const actionQuery = (actions: readonly [string, ...string[]]) =>
  z.object({ action: z.enum(actions).optional().describe('The action (or `action` in the body).') });
const downloadQuery = z.object({ downloadId: z.string().optional().describe('A one-time download key (no credentials needed with it).') });

export const OPERATION_DOCS: Record<string, OperationDoc> = {
  Ping: { summary: 'Liveness check (anonymous).' },
  GetOpenApi: { summary: 'This OpenAPI document (anonymous).' },

  ListImages: {
    summary: 'List own, shared-with-me and public images (CloudAPI filters, `tag.KEY=VALUE`).',
    query: listImagesQuery.extend(pageQuery.shape),
  },
  CreateImageFromMachine: {
    summary: 'Create an image from a stopped machine; answers at once with the image `creating` and its job in `x-joyent-jobid`.',
    status: 201,
    body: {
      schema: createImageFromMachineBody,
      required: true,
      examples: {
        minimal: { machine: EXAMPLE_ID, name: 'my-image', version: '1.0.0' },
        full: {
          machine: EXAMPLE_ID,
          name: 'web',
          version: '2.1',
          description: 'nginx on linux',
          homepage: 'https://example.com',
          acl: [OTHER_ID],
          tags: { role: 'web', tier: 1 },
          compression: 'none',
        },
      },
    },
  },
  GetImage: { summary: 'Get an image in any state; `?wait=N` long-polls for its next change (ETag / If-None-Match).', query: waitQuery },
  GetImageFile: { summary: "Redirect (302) to a presigned URL of the image's file.", status: 302 },
  GetJob: {
    summary:
      'Get a job: status, progress, entities, times, and `history` (failed attempts and retries of its steps: `{at, event, step, attempt, range?, error?}`); `?wait=N` long-polls for its next change (ETag / If-None-Match).',
    query: waitQuery,
  },
  JobAction: {
    summary: 'Job actions: `cancel` stops a build (the job ends CANCELLED, the image failed).',
    query: actionQuery(['cancel']),
    body: { schema: z.strictObject({ action: z.literal('cancel') }), examples: { cancel: { action: 'cancel' } } },
  },
  ListMachines: { summary: "List the caller's machines.", query: listMachinesQuery },
  GetMachine: { summary: 'Get a machine.' },
  ImageAction: {
    summary: 'Image actions: update (incl. sharing through `acl`), clone, export, accept-share, reject-share.',
    query: actionQuery(['update', 'clone', 'export', 'accept-share', 'reject-share']),
    body: {
      schema: z.union([updateImageBody, exportImageBody.extend({ action: z.literal('export').optional() }), cloneImageBody]),
      examples: {
        update: { description: 'new text', tags: { role: 'db' } },
        share: { acl: [OTHER_ID] },
        export: { action: 'export', manta_path: '/stor/images/web' },
        clone: {},
      },
    },
  },
  DeleteImage: { summary: 'Delete an image (a `creating` one: its build is cancelled).', status: 204 },
  GetAccount: { summary: 'The account.' },
  ListPackages: { summary: 'Machine packages.' },
  CreateMachine: {
    summary: 'Provision a machine from an image; answers at once with the machine `provisioning`.',
    status: 201,
    body: { schema: createMachineBody, required: true, examples: { minimal: { image: EXAMPLE_ID, package: 'g1-small', name: 'web-1' } } },
  },
  MachineAction: {
    summary: 'Stop or start a machine.',
    status: 202,
    query: actionQuery(['stop', 'start']),
    body: { schema: z.object({ action: z.enum(['stop', 'start']) }), examples: { stop: { action: 'stop' } } },
  },
  DeleteMachine: { summary: 'Delete a machine and its disks.', status: 204 },
  CreateToken: { summary: 'Exchange the credentials of this request for a one-hour API token.', status: 201 },
  RevokeToken: { summary: 'Revoke the token this request is signed with.', status: 204 },

  ImsCreateImage: {
    summary: 'Create an image from a machine, a bucket file, a data disk, or data disks only; answers `{job_id}`.',
    body: {
      schema: z.union([fromMachine, fromBucket, fromVolume, dataImagesOnly]),
      required: true,
      examples: {
        fromMachine: { name: 'ims-image', instance_id: EXAMPLE_ID, description: 'from a machine', tags: ['env.prod'] },
        fromBucket: { name: 'imported', image_url: 'my-bucket:images/disk.qcow2', min_disk: 40, os_version: 'Ubuntu 22.04 server 64bit' },
        fromVolume: { name: 'data', volume_id: EXAMPLE_ID, os_version: 'CentOS 7.9 64bit' },
        dataImagesOnly: { data_images: [{ name: 'data-1', volume_id: EXAMPLE_ID }] },
      },
    },
  },
  ImsShowJob: {
    summary:
      'A job (IMS), with `entities.image_id` and sub-jobs; our extension `entities.history` lists failed attempts and retries of its steps (`{at, event, step, attempt, range?, error?}`).',
  },
  ImsShowJobProgress: { summary: 'A job with `process_percent` and `current_task`.' },
  ImsListImages: { summary: 'List images (IMS filters).', query: imsListQuery },
  ImsUpdateImage: {
    summary: 'Update an image with a JSON patch.',
    body: {
      schema: z.array(patchOp).min(1).max(20),
      required: true,
      examples: {
        rename: [
          { op: 'replace', path: '/name', value: 'renamed' },
          { op: 'remove', path: '/__description' },
        ],
      },
    },
  },
  ImsDeleteImage: { summary: 'Delete an image.', status: 204 },
  ImsShowQuota: { summary: "The account's image quotas." },
  ImsUpdateMemberStatus: {
    summary: 'Accept or reject images shared with the caller; answers `{job_id}`.',
    body: {
      schema: updateMemberStatusBody,
      required: true,
      examples: { accept: { images: [EXAMPLE_ID], project_id: OTHER_ID, status: 'accepted' } },
    },
  },
  ImsExportImage: {
    summary: "Export an image's file to the caller's bucket; answers `{job_id}`.",
    body: { schema: exportBody, required: true, examples: { qcow2: { bucket_url: 'my-bucket:exports/web.qcow2', file_format: 'qcow2' } } },
  },

  UforgeListAppliances: { summary: "List the user's appliances." },
  UforgeCreateAppliance: {
    summary: 'Create an appliance (a template on one of your machines).',
    status: 201,
    body: {
      schema: createAppliance,
      required: true,
      xmlRoot: 'appliance',
      examples: {
        web: {
          name: 'web-appliance',
          version: '1.0',
          machineId: EXAMPLE_ID,
          osProfile: { name: 'Ubuntu', version: '22.04', arch: 'x86_64' },
          installProfile: { memorySize: 1024, diskSize: 10240 },
        },
      },
    },
  },
  UforgeGetAppliance: { summary: 'Get an appliance.' },
  UforgeUpdateAppliance: {
    summary: 'Update an appliance.',
    body: {
      schema: updateAppliance,
      required: true,
      xmlRoot: 'appliance',
      examples: { rename: { name: 'web-appliance-2', version: '1.1' } },
    },
  },
  UforgeDeleteAppliance: { summary: 'Delete an appliance and its images (running generations are cancelled).', status: 204 },
  UforgeGenerateImage: {
    summary: 'Generate a machine image of the appliance in a target format; answers the image ticket.',
    status: 201,
    body: {
      schema: generateBody,
      required: true,
      xmlRoot: 'image',
      examples: {
        raw: { compress: true, targetFormat: { name: 'Raw' }, installProfile: { memorySize: 512 } },
        qcow2: { targetFormat: { name: 'KVM' } },
      },
    },
  },
  UforgeListImages: { summary: "List the appliance's images." },
  UforgeDeleteAllImages: { summary: "Delete all the appliance's images.", status: 204 },
  UforgeGetImageStatuses: { summary: "The statuses of the appliance's images." },
  UforgeGetImage: { summary: 'Get an image (with its `downloadKey` once complete).' },
  UforgeRegenerateImage: { summary: 'Generate the image again.', status: 201 },
  UforgeRegenerateImagePut: { summary: 'Generate the image again (PUT form).', status: 201 },
  UforgeDeleteImage: { summary: 'Delete an image (a running generation is cancelled).', status: 204 },
  UforgeGetImageStatus: { summary: 'The generation status: `percentage`, `complete`.' },
  UforgeCancelImage: { summary: 'Cancel a running generation.' },
  UforgeDownloadImage: {
    summary: 'Download a compressed image (with credentials, or once per `downloadId`): a redirect to a presigned URL.',
    status: 302,
    query: downloadQuery,
  },
  UforgeDownloadImageFile: {
    summary: 'Download a compressed image by file name: a redirect to a presigned URL.',
    status: 302,
    query: downloadQuery,
  },
  UforgeListTargetFormats: { summary: 'The target formats and the disk formats they map to.' },
};
