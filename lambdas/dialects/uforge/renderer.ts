/** The UForge dialect's renderer: uforgeError bodies, XML or JSON as negotiated from `Accept` (representation.ts). */
import type { DialectRenderer, HandlerOptions } from '../../http/middleware';
import { renderUforgeError } from './errors';
import { UFORGE_MEDIA_TYPES, parseUforgeBody, serializeUforge } from './representation';

export const uforgeRenderer: DialectRenderer = {
  renderError: renderUforgeError,
  mediaTypes: UFORGE_MEDIA_TYPES,
  serialize: serializeUforge,
  headers: ({ requestId }) => ({ 'x-request-id': requestId, date: new Date().toUTCString() }),
};

/** The options every UForge handler shares: its renderer and its body reader. */
export const uforgeOptions = (operation: string): HandlerOptions => ({ operation, renderer: uforgeRenderer, parseBody: parseUforgeBody });
