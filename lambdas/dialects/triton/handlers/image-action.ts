/**
 * POST /{login}/images/{id} — the image actions. API Gateway cannot route on a query string, so this
 * one handler maps `action` (from the query, or the JSON body as the CLI sends `export`) to its use
 * case, as IMGAPI's `POST /images/:uuid` does: update | clone | export, plus accept-share |
 * reject-share (a sharee's answer to a share; docs/decisions/sharing-consent.md). No action → 409
 * MissingParameter; an unknown one → 409 InvalidArgument.
 */
import { InvalidArgumentError, MissingParameterError, NotFoundError } from '../../../core/errors';
import { cloneImage } from '../../../core/use-cases/clone-image';
import { exportImage } from '../../../core/use-cases/export-image';
import { updateImage } from '../../../core/use-cases/update-image';
import { answerShare } from '../../../core/use-cases/share-consent';
import { idempotent } from '../../../http/idempotency';
import { httpHandler, type HttpRequest, type HttpResponse } from '../../../http/middleware';
import { clock, config, ids, imageFileStore, imageRepository, jobRepository, quotaGate, workflowStarter } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { cloneImageBody, exportImageBody, parseWith, updateImageBody, uuidParam } from '../schemas';
import { imageManifest, serializeImage } from '../serialize';

type Action = (req: HttpRequest, id: string, body: unknown) => Promise<HttpResponse>;

const ACTIONS: Record<string, Action> = {
  update: async (req, id, body) => {
    const changes = parseWith(updateImageBody, body);
    const image = await updateImage({ images: imageRepository(), clock })(req.caller, id, changes);
    return { status: 200, body: serializeImage(image, req.caller.accountId) };
  },
  clone: async (req, id, body) => {
    parseWith(cloneImageBody, body);
    const inWorkflow = { thresholdBytes: config.copyInWorkflowBytes(), jobs: jobRepository(), workflow: workflowStarter() };
    const image = await cloneImage({ images: imageRepository(), files: imageFileStore(), clock, ids, quotas: quotaGate(), inWorkflow })(
      req.caller,
      id,
    );
    // a large file is copied by the workflow: the clone is `creating`, its job named as image creation names it
    const jobHeader = image.state === 'creating' && image.job_id ? { headers: { 'x-joyent-jobid': image.job_id } } : {};
    return { status: 200, body: serializeImage(image, req.caller.accountId), ...jobHeader };
  },
  // Extension (docs/decisions/sharing-consent.md): the sharee accepts or rejects a share.
  'accept-share': async (req, id, body) => {
    parseWith(cloneImageBody, body);
    const image = await answerShare({ images: imageRepository() })(req.caller, id, 'accepted');
    return { status: 200, body: serializeImage(image, req.caller.accountId) };
  },
  'reject-share': async (req, id, body) => {
    parseWith(cloneImageBody, body);
    const image = await answerShare({ images: imageRepository() })(req.caller, id, 'rejected');
    return { status: 200, body: serializeImage(image, req.caller.accountId) };
  },
  export: async (req, id, body) => {
    const { manta_path } = parseWith(exportImageBody, body);
    const out = await exportImage({ images: imageRepository(), files: imageFileStore(), manifest: imageManifest })(req.caller, id, {
      path: manta_path,
    });
    return {
      status: 200,
      body: {
        manta_url: out.location,
        image_path: out.imagePath,
        manifest_path: out.manifestPath,
        download_url: out.downloadUrl,
        download_url_expires_in: out.expiresInSeconds,
      },
    };
  },
};

export const handler = httpHandler(
  { operation: 'ImageAction', renderer: tritonRenderer },
  idempotent(async (req) => {
    if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('image not found');
    const raw = req.body ?? {};
    const fromBody = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
    const action = req.query.action ?? (typeof fromBody?.action === 'string' ? fromBody.action : undefined);
    if (action === undefined || action === '')
      throw new MissingParameterError('action is required', [{ field: 'action', code: 'MissingParameter', message: 'is required' }]);
    const run = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!run)
      throw new InvalidArgumentError(`${action} is not a supported action (update, clone, export, accept-share, reject-share)`, [
        { field: 'action', code: 'Invalid', message: 'unknown action' },
      ]);
    let body: unknown = raw;
    if (fromBody && 'action' in fromBody) {
      const { action: _a, ...rest } = fromBody;
      void _a;
      body = rest;
    }
    return run(req, req.params.id, body);
  }),
);
