/** The Triton dialect's renderer: CloudAPI's error shape and the headers CloudAPI always sends. */
import type { DialectRenderer } from '../../http/middleware';
import { renderTritonError } from './errors';

export const API_VERSION = '9.20.0';

export const tritonRenderer: DialectRenderer = {
  renderError: renderTritonError,
  pathOwner: 'login',
  headers: ({ requestId, startedAt }) => ({
    'request-id': requestId,
    'x-request-id': requestId,
    'response-time': String(Date.now() - startedAt),
    'api-version': API_VERSION,
    server: 'machine-image-service',
    date: new Date().toUTCString(),
    // No CORS headers: no browser client calls this API from another origin (the web console is
    // served from the same origin), and `*` on authenticated answers would let any page read them.
  }),
};
