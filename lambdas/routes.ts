/**
 * THE route table: plain data read by the CDK API construct (one API Gateway method and one
 * NodejsFunction per entry) and by the local gateway (which runs the same handlers in-process).
 * `entry` is relative to `lambdas/`; `operation` names the Lambda, the OpenAPI operationId and the log key.
 */
export type Dialect = 'triton' | 'ims' | 'uforge' | 'service';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** Which authorizer the method sits behind: `none` only for the ping. */
export type RouteAuth = 'none' | 'caller';
/** What the handler may do with the data: read routes get only GetItem/Query IAM. */
export type RouteAccess = 'read' | 'write';

export interface Route {
  dialect: Dialect;
  method: HttpMethod;
  /** API Gateway path template, `{name}` for a path parameter. */
  path: string;
  operation: string;
  auth: RouteAuth;
  access: RouteAccess;
  entry: string;
  /** Object storage the handler writes beyond presigning downloads: image files, machine disks. */
  storage?: readonly StorageGrant[];
  /** The handler may stop build executions (cancels). */
  stopsBuilds?: boolean;
}

/** `images`: copy/write/delete image files and exports; `disks`: read and write machine disks. */
export type StorageGrant = 'images' | 'disks';

export const routes: readonly Route[] = [
  { dialect: 'service', method: 'GET', path: '/--ping', operation: 'Ping', auth: 'none', access: 'read', entry: 'dialects/service/handlers/ping.ts' },
  { dialect: 'service', method: 'GET', path: '/--openapi.json', operation: 'GetOpenApi', auth: 'none', access: 'read', entry: 'dialects/service/handlers/openapi.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images', operation: 'ListImages', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/list-images.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/images', operation: 'CreateImageFromMachine', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/create-image-from-machine.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images/{id}', operation: 'GetImage', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-image.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images/{id}/file', operation: 'GetImageFile', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-image-file.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/jobs/{id}', operation: 'GetJob', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-job.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/jobs/{id}', operation: 'JobAction', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/job-action.ts', storage: ['images'] },
  { dialect: 'triton', method: 'GET', path: '/{login}/machines', operation: 'ListMachines', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/list-machines.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/machines/{id}', operation: 'GetMachine', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-machine.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/images/{id}', operation: 'ImageAction', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/image-action.ts', storage: ['images'] },
  { dialect: 'triton', method: 'DELETE', path: '/{login}/images/{id}', operation: 'DeleteImage', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/delete-image.ts', storage: ['images'] },
  { dialect: 'triton', method: 'GET', path: '/{login}', operation: 'GetAccount', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-account.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/packages', operation: 'ListPackages', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/list-packages.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/machines', operation: 'CreateMachine', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/create-machine.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/machines/{id}', operation: 'MachineAction', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/machine-action.ts' },
  { dialect: 'triton', method: 'DELETE', path: '/{login}/machines/{id}', operation: 'DeleteMachine', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/delete-machine.ts', storage: ['disks'] },
  { dialect: 'triton', method: 'POST', path: '/{login}/tokens', operation: 'CreateToken', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/create-token.ts' },
  { dialect: 'triton', method: 'DELETE', path: '/{login}/tokens/current', operation: 'RevokeToken', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/revoke-token.ts' },
  { dialect: 'ims', method: 'POST', path: '/v2/cloudimages/action', operation: 'ImsCreateImage', auth: 'caller', access: 'write', entry: 'dialects/ims/handlers/create-image.ts' },
  { dialect: 'ims', method: 'GET', path: '/v1/{project_id}/jobs/{job_id}', operation: 'ImsShowJob', auth: 'caller', access: 'read', entry: 'dialects/ims/handlers/show-job.ts' },
  { dialect: 'ims', method: 'GET', path: '/v1/cloudimages/job/{job_id}', operation: 'ImsShowJobProgress', auth: 'caller', access: 'read', entry: 'dialects/ims/handlers/show-job-progress.ts' },
  { dialect: 'ims', method: 'GET', path: '/v2/cloudimages', operation: 'ImsListImages', auth: 'caller', access: 'read', entry: 'dialects/ims/handlers/list-images.ts' },
  { dialect: 'ims', method: 'PATCH', path: '/v2/cloudimages/{image_id}', operation: 'ImsUpdateImage', auth: 'caller', access: 'write', entry: 'dialects/ims/handlers/update-image.ts' },
  { dialect: 'ims', method: 'DELETE', path: '/v2/images/{image_id}', operation: 'ImsDeleteImage', auth: 'caller', access: 'write', entry: 'dialects/ims/handlers/delete-image.ts', storage: ['images'] },
  { dialect: 'ims', method: 'GET', path: '/v1/cloudimages/quota', operation: 'ImsShowQuota', auth: 'caller', access: 'read', entry: 'dialects/ims/handlers/show-quota.ts' },
  { dialect: 'ims', method: 'PUT', path: '/v1/cloudimages/members', operation: 'ImsUpdateMemberStatus', auth: 'caller', access: 'write', entry: 'dialects/ims/handlers/update-member-status.ts' },
  { dialect: 'ims', method: 'POST', path: '/v1/cloudimages/{image_id}/file', operation: 'ImsExportImage', auth: 'caller', access: 'write', entry: 'dialects/ims/handlers/export-image.ts', storage: ['images'] },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances', operation: 'UforgeListAppliances', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/list-appliances.ts' },
  { dialect: 'uforge', method: 'POST', path: '/users/{uid}/appliances', operation: 'UforgeCreateAppliance', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/create-appliance.ts' },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}', operation: 'UforgeGetAppliance', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/get-appliance.ts' },
  { dialect: 'uforge', method: 'PUT', path: '/users/{uid}/appliances/{aid}', operation: 'UforgeUpdateAppliance', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/update-appliance.ts' },
  { dialect: 'uforge', method: 'DELETE', path: '/users/{uid}/appliances/{aid}', operation: 'UforgeDeleteAppliance', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/delete-appliance.ts', storage: ['images'], stopsBuilds: true },
  { dialect: 'uforge', method: 'POST', path: '/users/{uid}/appliances/{aid}/images', operation: 'UforgeGenerateImage', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/generate-image.ts' },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images', operation: 'UforgeListImages', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/list-images.ts' },
  { dialect: 'uforge', method: 'DELETE', path: '/users/{uid}/appliances/{aid}/images', operation: 'UforgeDeleteAllImages', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/delete-all-images.ts', storage: ['images'], stopsBuilds: true },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images/statuses', operation: 'UforgeGetImageStatuses', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/get-image-statuses.ts' },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images/{itid}', operation: 'UforgeGetImage', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/get-image.ts' },
  { dialect: 'uforge', method: 'POST', path: '/users/{uid}/appliances/{aid}/images/{itid}', operation: 'UforgeRegenerateImage', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/regenerate-image.ts' },
  { dialect: 'uforge', method: 'PUT', path: '/users/{uid}/appliances/{aid}/images/{itid}', operation: 'UforgeRegenerateImagePut', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/regenerate-image.ts' },
  { dialect: 'uforge', method: 'DELETE', path: '/users/{uid}/appliances/{aid}/images/{itid}', operation: 'UforgeDeleteImage', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/delete-image.ts', storage: ['images'], stopsBuilds: true },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images/{itid}/status', operation: 'UforgeGetImageStatus', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/get-image-status.ts' },
  { dialect: 'uforge', method: 'DELETE', path: '/users/{uid}/appliances/{aid}/images/{itid}/status', operation: 'UforgeCancelImage', auth: 'caller', access: 'write', entry: 'dialects/uforge/handlers/cancel-image.ts', storage: ['images'], stopsBuilds: true },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images/{itid}/downloads', operation: 'UforgeDownloadImage', auth: 'none', access: 'write', entry: 'dialects/uforge/handlers/download-image.ts' },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/appliances/{aid}/images/{itid}/downloads/{fileName}', operation: 'UforgeDownloadImageFile', auth: 'none', access: 'write', entry: 'dialects/uforge/handlers/download-image.ts' },
  { dialect: 'uforge', method: 'GET', path: '/users/{uid}/targetformats', operation: 'UforgeListTargetFormats', auth: 'caller', access: 'read', entry: 'dialects/uforge/handlers/list-target-formats.ts' },
];

/** Workflow Task states, in order; each maps to `workflow/tasks/<kebab-case>.ts`. */
export const BUILD_TASKS = [
  'PrepareSource',
  'BuildImageFile',
  'Finalize',
  'Cleanup',
  'MarkFailed',
  // chunked builds (lambdas/workflow/chunked.ts)
  'StartRanges',
  'BuildRange',
  'AssembleFile',
  'HashFile',
  // large clones and exports (lambdas/workflow/copy.ts)
  'CopyFile',
] as const;
export type BuildTask = (typeof BUILD_TASKS)[number];
/** Task states of the provisioning workflow (lib/constructs/provision-workflow.ts), same file mapping. */
export const PROVISION_TASKS = ['ExpandImage', 'MarkMachineRunning', 'RemoveDisk', 'MarkMachineFailed'] as const;
export type ProvisionTask = (typeof PROVISION_TASKS)[number];
export const taskEntry = (state: string): string =>
  `workflow/tasks/${state.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.ts`;
