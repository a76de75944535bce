/** DELETE /users/{uid}/appliances/{aid} — appliance_delete: the appliance and its machine images; 204. */
import { NotFoundError } from '../../../core/errors';
import { deleteAppliance } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';

export const handler = httpHandler(uforgeOptions('UforgeDeleteAppliance'), async (req) => {
  if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
  await deleteAppliance(applianceImageDeps())(req.caller, req.params.aid);
  return { status: 204 };
});
