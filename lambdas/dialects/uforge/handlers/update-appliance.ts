/** PUT /users/{uid}/appliances/{aid} — appliance_update: the fields given change (a conditional write). */
import { NotFoundError } from '../../../core/errors';
import { updateAppliance } from '../../../core/use-cases/appliances';
import { httpHandler } from '../../../http/middleware';
import { applianceDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId, parseUpdateAppliance } from '../schemas';
import { serializeAppliance } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeUpdateAppliance'), async (req) => {
  if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
  const appliance = await updateAppliance(applianceDeps())(req.caller, req.params.aid, parseUpdateAppliance(req.body));
  return { status: 200, body: { appliance: serializeAppliance(appliance, req.caller.login) } };
});
