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
}

export const routes: readonly Route[] = [
  { dialect: 'service', method: 'GET', path: '/--ping', operation: 'Ping', auth: 'none', access: 'read', entry: 'dialects/service/handlers/ping.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images', operation: 'ListImages', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/list-images.ts' },
  { dialect: 'triton', method: 'POST', path: '/{login}/images', operation: 'CreateImageFromMachine', auth: 'caller', access: 'write', entry: 'dialects/triton/handlers/create-image-from-machine.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images/{id}', operation: 'GetImage', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-image.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/images/{id}/file', operation: 'GetImageFile', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-image-file.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/jobs/{id}', operation: 'GetJob', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-job.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/machines', operation: 'ListMachines', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/list-machines.ts' },
  { dialect: 'triton', method: 'GET', path: '/{login}/machines/{id}', operation: 'GetMachine', auth: 'caller', access: 'read', entry: 'dialects/triton/handlers/get-machine.ts' },
];

/** Workflow Task states, in order; each maps to `workflow/tasks/<kebab-case>.ts`. */
export const BUILD_TASKS = ['PrepareSource', 'BuildImageFile', 'Finalize', 'Cleanup', 'MarkFailed'] as const;
export type BuildTask = (typeof BUILD_TASKS)[number];
export const taskEntry = (state: string): string =>
  `workflow/tasks/${state.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.ts`;
