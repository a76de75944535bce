/** GET /users/{uid}/appliances — appliance_getAll: the caller's appliances. */
import { listAppliances } from '../../../core/use-cases/appliances';
import { httpHandler } from '../../../http/middleware';
import { readDeps } from '../deps';
import { uforgeOptions } from '../renderer';
import { serializeAppliance } from '../serialize';

export const handler = httpHandler(uforgeOptions('UforgeListAppliances'), async (req) => {
  const appliances = await listAppliances(readDeps())(req.caller);
  return {
    status: 200,
    body: {
      appliances: { total: appliances.length, appliances: { appliance: appliances.map((a) => serializeAppliance(a, req.caller.login)) } },
    },
  };
});
