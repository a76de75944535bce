/**
 * The local stack's map from a route's or task's `entry` (as in lambdas/routes.ts) to its handler
 * module. A unit test checks every route and task has one, so the map and the table cannot drift.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
export type AnyHandler = (event: any, context: any) => Promise<any>;

export const handlers: Record<string, () => AnyHandler> = {
  'dialects/service/handlers/ping.ts': () => require('../lambdas/dialects/service/handlers/ping').handler,
  'dialects/triton/handlers/list-images.ts': () => require('../lambdas/dialects/triton/handlers/list-images').handler,
  'dialects/triton/handlers/create-image-from-machine.ts': () => require('../lambdas/dialects/triton/handlers/create-image-from-machine').handler,
  'dialects/triton/handlers/get-image.ts': () => require('../lambdas/dialects/triton/handlers/get-image').handler,
  'dialects/triton/handlers/get-image-file.ts': () => require('../lambdas/dialects/triton/handlers/get-image-file').handler,
  'dialects/triton/handlers/get-job.ts': () => require('../lambdas/dialects/triton/handlers/get-job').handler,
  'dialects/triton/handlers/list-machines.ts': () => require('../lambdas/dialects/triton/handlers/list-machines').handler,
  'dialects/triton/handlers/get-machine.ts': () => require('../lambdas/dialects/triton/handlers/get-machine').handler,
  'dialects/triton/handlers/image-action.ts': () => require('../lambdas/dialects/triton/handlers/image-action').handler,
  'dialects/triton/handlers/delete-image.ts': () => require('../lambdas/dialects/triton/handlers/delete-image').handler,
  'dialects/triton/handlers/get-account.ts': () => require('../lambdas/dialects/triton/handlers/get-account').handler,
  'dialects/triton/handlers/list-packages.ts': () => require('../lambdas/dialects/triton/handlers/list-packages').handler,
  'dialects/triton/handlers/create-machine.ts': () => require('../lambdas/dialects/triton/handlers/create-machine').handler,
  'dialects/triton/handlers/machine-action.ts': () => require('../lambdas/dialects/triton/handlers/machine-action').handler,
  'dialects/triton/handlers/delete-machine.ts': () => require('../lambdas/dialects/triton/handlers/delete-machine').handler,
  'workflow/tasks/prepare-source.ts': () => require('../lambdas/workflow/tasks/prepare-source').handler,
  'workflow/tasks/build-image-file.ts': () => require('../lambdas/workflow/tasks/build-image-file').handler,
  'workflow/tasks/finalize.ts': () => require('../lambdas/workflow/tasks/finalize').handler,
  'workflow/tasks/cleanup.ts': () => require('../lambdas/workflow/tasks/cleanup').handler,
  'workflow/tasks/mark-failed.ts': () => require('../lambdas/workflow/tasks/mark-failed').handler,
  'workflow/execution-ended.ts': () => require('../lambdas/workflow/execution-ended').handler,
  'workflow/tasks/start-ranges.ts': () => require('../lambdas/workflow/tasks/start-ranges').handler,
  'workflow/tasks/build-range.ts': () => require('../lambdas/workflow/tasks/build-range').handler,
  'workflow/tasks/assemble-file.ts': () => require('../lambdas/workflow/tasks/assemble-file').handler,
  'workflow/tasks/hash-file.ts': () => require('../lambdas/workflow/tasks/hash-file').handler,
  'dialects/ims/handlers/create-image.ts': () => require('../lambdas/dialects/ims/handlers/create-image').handler,
  'dialects/ims/handlers/show-job.ts': () => require('../lambdas/dialects/ims/handlers/show-job').handler,
  'dialects/ims/handlers/show-job-progress.ts': () => require('../lambdas/dialects/ims/handlers/show-job-progress').handler,
  'dialects/ims/handlers/list-images.ts': () => require('../lambdas/dialects/ims/handlers/list-images').handler,
  'dialects/ims/handlers/update-image.ts': () => require('../lambdas/dialects/ims/handlers/update-image').handler,
  'dialects/ims/handlers/delete-image.ts': () => require('../lambdas/dialects/ims/handlers/delete-image').handler,
  'dialects/ims/handlers/export-image.ts': () => require('../lambdas/dialects/ims/handlers/export-image').handler,
  'auth/authorizer.ts': () => require('../lambdas/auth/authorizer').handler,
};
