/** The IMS dialect's renderer: IMS's error shapes and the headers Huawei APIs send (X-Request-Id). */
import type { DialectRenderer } from '../../http/middleware';
import { renderImsError } from './errors';

export const imsRenderer: DialectRenderer = {
  renderError: renderImsError,
  headers: ({ requestId }) => ({
    'x-request-id': requestId,
    server: 'machine-image-service',
    date: new Date().toUTCString(),
  }),
};
