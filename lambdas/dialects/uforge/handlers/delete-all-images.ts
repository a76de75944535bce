/** DELETE /users/{uid}/appliances/{aid}/images — machineImage_deleteAll; 204. */
import { NotFoundError } from '../../../core/errors';
import { deleteAllApplianceImages } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';

export const handler = httpHandler(uforgeOptions('UforgeDeleteAllImages'), async (req) => {
  if (!isId(req.params.aid)) throw new NotFoundError(`appliance ${req.params.aid} not found`);
  await deleteAllApplianceImages(applianceImageDeps())(req.caller, req.params.aid);
  return { status: 204 };
});
