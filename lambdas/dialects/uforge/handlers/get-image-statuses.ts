/** GET /users/{uid}/appliances/{aid}/images/statuses — machineImageStatus_getAll. */
import { NotFoundError } from '../../../core/errors';
import { listApplianceImages } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { clock } from '../../../wiring';
import { readDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';
import { serializeStatus } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeGetImageStatuses'), async (req) => {
  if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
  const all = await listApplianceImages(readDeps())(req.caller, req.params.aid);
  const now = clock.now();
  return {
    status: 200,
    body: { statuses: { total: all.length, statuses: { status: all.map((g) => serializeStatus(g, req.caller.login, now)) } } },
  };
});
