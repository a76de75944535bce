/** GET /users/{uid}/appliances/{aid} — appliance_get. */
import { NotFoundError } from '../../../core/errors';
import { getAppliance } from '../../../core/use-cases/appliances';
import { httpHandler } from '../../../http/middleware';
import { readDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';
import { serializeAppliance } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeGetAppliance'), async (req) => {
  if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
  const appliance = await getAppliance(readDeps())(req.caller, req.params.aid);
  return { status: 200, body: { appliance: serializeAppliance(appliance, req.caller.login) } };
});
