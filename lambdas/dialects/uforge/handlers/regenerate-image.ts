/** POST (and PUT) /users/{uid}/appliances/{aid}/images/{itid} — machineImage_regenerate: a new ticket with the earlier parameters; 201. */
import { NotFoundError } from '../../../core/errors';
import { regenerateApplianceImage } from '../../../core/use-cases/appliance-images';
import { idempotent } from '../../../http/idempotency';
import { httpHandler } from '../../../http/middleware';
import { clock } from '../../../wiring';
import { applianceImageDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { isId } from '../schemas';
import { serializeImage } from '../serialize';

export const handler = httpHandler(
  uforgeOptions('UforgeRegenerateImage'),
  idempotent(async (req) => {
    if (!isId(req.params.aid) || !isId(req.params.itid)) throw new NotFoundError(`machine image ${req.params.itid} not found`);
    const generated = await regenerateApplianceImage(applianceImageDeps())(req.caller, req.params.aid, req.params.itid);
    const body = serializeImage(generated, req.caller.login, clock.now());
    return { status: 201, headers: { location: `/${body.uri}` }, body: { image: body } };
  }),
);
