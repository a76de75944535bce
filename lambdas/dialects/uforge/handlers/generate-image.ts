/**
 * POST /users/{uid}/appliances/{aid}/images — machineImage_generate: an `image` body (targetFormat,
 * compress, installProfile) → 201 with the image ticket; the build runs in the workflow.
 */
import { NotFoundError } from '../../../core/errors';
import { generateApplianceImage } from '../../../core/use-cases/appliance-images';
import { idempotent } from '../../../http/idempotency';
import { httpHandler } from '../../../http/middleware';
import { clock } from '../../../wiring';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId, parseGenerate } from '../schemas';
import { serializeImage } from '../serialize';
import { resolveTargetFormat } from '../target-formats';

export const handler = httpHandler(
  uforgeOptions('UforgeGenerateImage'),
  idempotent(async (req) => {
    if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
    const request = parseGenerate(req.body);
    const target = resolveTargetFormat(request.targetFormat);
    const generated = await generateApplianceImage(applianceImageDeps())(req.caller, req.params.aid, {
      target_format: target.name,
      output: target.output,
      compression: request.compress ? 'gzip' : 'none',
      install_profile: request.installProfile,
    });
    const body = serializeImage(generated, req.caller.login, clock.now());
    return { status: 201, headers: { location: `/${body.uri}` }, body: { image: body } };
  }),
);
