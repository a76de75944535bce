/** POST /users/{uid}/appliances — appliance_create: an appliance on one of the caller's machines; 201. */
import { createAppliance } from '../../../core/use-cases/appliances';
import { idempotent } from '../../../http/idempotency';
import { httpHandler } from '../../../http/middleware';
import { applianceDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { parseCreateAppliance } from '../schemas';
import { serializeAppliance } from '../serialize';

export const handler = httpHandler(
  uforgeOptions('UforgeCreateAppliance'),
  idempotent(async (req) => {
    const appliance = await createAppliance(applianceDeps())(req.caller, parseCreateAppliance(req.body));
    const body = serializeAppliance(appliance, req.caller.login);
    return { status: 201, headers: { location: `/${body.uri}` }, body: { appliance: body } };
  }),
);
