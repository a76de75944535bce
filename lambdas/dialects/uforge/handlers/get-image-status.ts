/** GET /users/{uid}/appliances/{aid}/images/{itid}/status — machineImageStatus_get: the generation's opStatus. */
import { NotFoundError } from '../../../core/errors';
import { getApplianceImage } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { clock } from '../../../wiring';
import { readDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';
import { serializeStatus } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeGetImageStatus'), async (req) => {
  if (!isId(req.params.aid) || !isId(req.params.itid)) throw new NotFoundError(`machine image ${req.params.itid} not found`);
  const generated = await getApplianceImage(readDeps())(req.caller, req.params.aid, req.params.itid);
  return { status: 200, body: { status: serializeStatus(generated, req.caller.login, clock.now()) } };
});
