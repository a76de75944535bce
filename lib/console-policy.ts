/**
 * The web console's security headers, shared by the CDK console construct (lib/constructs/console.ts,
 * a CloudFront response headers policy) and the local gateway's console server (local/console.ts),
 * so a browser sees the same policy locally and deployed.
 *
 * The console is static files plus calls to the API on the same origin: scripts, styles and fetches
 * only from 'self', no inline script or style (Vite emits none; Preact sets styles through the CSSOM),
 * no framing, no plugins. Downloads are navigations to presigned S3 URLs, which a CSP does not govern.
 */
export const CONSOLE_PATH = '/console';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Every header the console's responses carry (HSTS only where served over HTTPS, i.e. CloudFront). */
export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'cross-origin-opener-policy': 'same-origin',
};

/** HSTS for the deployed console: one year, subdomains included. */
export const CONSOLE_HSTS_SECONDS = 31_536_000;
