/**
 * GET /{login}/machines — ListMachines (the caller's), filters `name`, `state`, `image`, CloudAPI's
 * `limit`/`offset` paging, and `x-resource-count`: the CLI keeps paging while it is not below
 * `limit`, so it carries the size of this page.
 */
import { listMachinesPage } from '../../../core/use-cases/machine-lifecycle';
import { httpHandler } from '../../../http/middleware';
import { machineRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { listMachinesQuery, parseWith } from '../schemas';
import { serializeMachine } from '../serialize';

export const handler = httpHandler({ operation: 'ListMachines', renderer: tritonRenderer }, async (req) => {
  const q = parseWith(listMachinesQuery, {
    name: req.query.name,
    state: req.query.state,
    image: req.query.image,
    limit: req.query.limit,
    offset: req.query.offset,
  });
  const page = await listMachinesPage({ machines: machineRepository() })(req.caller, {
    ...q,
    limit: q.limit ?? 1000,
    offset: q.offset ?? 0,
  });
  return {
    status: 200,
    body: page.items.map(serializeMachine),
    headers: { 'x-resource-count': String(page.items.length), 'x-total-count': String(page.total) },
  };
});
