/** DELETE /users/{uid}/appliances/{aid}/images/{itid} — machineImage_delete: cancels a running generation, removes the file; 204. */
import { NotFoundError } from '../../../core/errors';
import { deleteApplianceImage } from '../../../core/use-cases/appliance-images';
import { httpHandler } from '../../../http/middleware';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';

export const handler = httpHandler(uforgeOptions('UforgeDeleteImage'), async (req) => {
  if (!isId(req.params.aid) || !isId(req.params.itid)) throw new NotFoundError(`machine image ${req.params.itid} not found`);
  await deleteApplianceImage(applianceImageDeps())(req.caller, req.params.aid, req.params.itid);
  return { status: 204 };
});
