/** GET /{login}/machines — ListMachines (the caller's), with `x-resource-count` as the CLI needs. */
import { listMachines } from '../../../core/use-cases/machines';
import { httpHandler } from '../../../http/middleware';
import { machineRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { parsePageQuery } from '../query';
import { serializeMachine } from '../serialize';

export const handler = httpHandler({ operation: 'ListMachines', renderer: tritonRenderer }, async (req) => {
  const page = await listMachines({ machines: machineRepository() })(req.caller, parsePageQuery(req.query));
  const items = page.items.filter((m) => m.state !== 'deleted');
  return {
    status: 200,
    body: items.map(serializeMachine),
    headers: { 'x-resource-count': String(items.length), ...(page.cursor ? { 'x-next-marker': page.cursor } : {}) },
  };
});
