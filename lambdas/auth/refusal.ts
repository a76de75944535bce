/**
 * Why the authorizer refused a request, for its log and metrics only: the caller gets the same 401
 * whatever the reason (lambdas/auth/authorizer.ts), and each scheme runs the same steps whatever the
 * outcome (equal timing, lambdas/auth/basic.ts), so naming the reason here reveals nothing to a client.
 * A reason is a fixed word; nothing of the credentials (password, token, signature, key) goes with it.
 */
import type { AuthDeps } from './request';

export const AUTH_FAILURE_REASONS = [
  /** The credentials cannot be read: a bad header, an oversize value, an unsupported keyId or algorithm. */
  'malformed',
  /** A signed request's date is missing or outside the allowed clock skew (the replay window). */
  'clock_skew',
  /** A signature scheme's required header (date, host, the body's hash) is not signed. */
  'unsigned_header',
  /** AK/SK `UNSIGNED-PAYLOAD` on a request that has a body. */
  'unsigned_payload',
  /** Basic: no account has this login. */
  'unknown_login',
  /** Basic: the account has no password. */
  'no_password',
  /** Basic: this source has used up its attempts for this login (docs/decisions/lockout.md). */
  'locked',
  'bad_password',
  /** HTTP Signature: no such key for the login (or the keyId names another login's key). */
  'unknown_key',
  /** HTTP Signature: the stored public key cannot be read. */
  'bad_key',
  /** AK/SK: no such access key. */
  'unknown_access_key',
  'bad_signature',
  /** AK/SK: the body is not the one whose hash was signed. */
  'body_mismatch',
  'unknown_token',
  'expired_token',
  /** A token issued before the account's last password change. */
  'revoked_token',
  /** The credential's account is gone. */
  'unknown_account',
  'disabled_account',
] as const;

export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Tells the caller of a scheme (through `deps.onRefused`) why it refuses; returns undefined, the refusal. */
export function refuse(deps: Pick<AuthDeps, 'onRefused'>, reason: AuthFailureReason): undefined {
  deps.onRefused?.(reason);
  return undefined;
}
