/**
 * DELETE /users/{uid}/appliances/{aid}/images/{itid}/status — machineImageGeneration_cancel: the build
 * is stopped and everything it wrote removed (lambdas/core/use-cases/cancel-job.ts); 200 with the
 * status (`cancelled`). A generation that already ended is a 409.
 */
import { NotFoundError } from '../../../core/errors';
import { cancelApplianceImage } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { clock } from '../../../wiring';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';
import { serializeStatus } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeCancelImage'), async (req) => {
  if (!isId(req.params.aid) || !isId(req.params.itid)) throw new NotFoundError(`machine image ${req.params.itid} not found`);
  const generated = await cancelApplianceImage(applianceImageDeps())(req.caller, req.params.aid, req.params.itid);
  return { status: 200, body: { status: serializeStatus(generated, req.caller.login, clock.now()) } };
});
