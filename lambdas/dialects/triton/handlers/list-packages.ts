/** GET /{login}/packages — ListPackages: the fixed catalogue of machine sizes. */
import { PACKAGES } from '../../../core/package';
import { httpHandler } from '../../../http/middleware';
import { tritonRenderer } from '../renderer';
import { serializePackage } from '../serialize';

export const handler = httpHandler({ operation: 'ListPackages', renderer: tritonRenderer }, async (req) => {
  const items = PACKAGES.filter((p) => req.query.name === undefined || p.name === req.query.name);
  return { status: 200, body: items.map(serializePackage), headers: { 'x-resource-count': String(items.length) } };
});
