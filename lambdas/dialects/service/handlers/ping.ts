/** GET /--ping — anonymous liveness check (CloudAPI's `/--ping`). */
import { httpHandler } from '../../../http/middleware';
import { tritonRenderer } from '../../triton/renderer';

export const handler = httpHandler({ operation: 'Ping', renderer: tritonRenderer, anonymous: true }, async () => ({
  status: 200,
  body: { ping: 'pong', service: 'machine-image-service' },
}));
