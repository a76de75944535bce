/**
 * Content negotiation for a dialect that writes more than JSON (UForge: lambdas/dialects/uforge/renderer.ts):
 * `Accept` against its media types by @middy/http-content-negotiation, which sets the context's
 * `preferredMediaType` for the dialect's serializer (lambdas/http/middleware.ts). Never a 406: a type the
 * dialect does not write, or a malformed header, gets its default (the first). In its own module so
 * that only the bundles of such a dialect carry the negotiator.
 */
import type { MiddlewareObj } from '@middy/core';
import httpContentNegotiation from '@middy/http-content-negotiation';

export function contentNegotiation(mediaTypes: readonly string[]): MiddlewareObj {
  return httpContentNegotiation({
    parseCharsets: false,
    parseEncodings: false,
    parseLanguages: false,
    availableMediaTypes: [...mediaTypes],
    defaultToFirstMediaType: true,
    failOnMismatch: false,
  }) as MiddlewareObj;
}
