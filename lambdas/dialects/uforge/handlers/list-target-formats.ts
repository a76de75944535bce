/** GET /users/{uid}/targetformats — userTargetFormat_getAll: the target formats the service can generate. */
import { httpHandler } from '../../../http/middleware';
import { uforgeOptions } from '../renderer';
import { serializeTargetFormat } from '../serialize';
import { generatableTargetFormats } from '../target-formats';

export const handler = httpHandler(uforgeOptions('UforgeListTargetFormats'), async (req) => {
  const formats = generatableTargetFormats();
  return {
    status: 200,
    body: {
      targetFormats: {
        total: formats.length,
        targetFormats: { targetFormat: formats.map((f) => serializeTargetFormat(f, req.caller.login)) },
      },
    },
  };
});
