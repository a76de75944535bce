/**
 * Credentials: what the authorizer checks a caller against (core types, no AWS). Secrets are stored
 * only in the form a check needs: passwords as scrypt hashes with a per-user salt, API tokens as
 * sha256 digests; SSH keys are public. The one exception is an AK/SK pair's secret key, which must be
 * kept as is because verifying a Huawei signature means recomputing its HMAC (it is returned only
 * when the pair is created).
 */

/** An SSH public key registered for an account; `fingerprint` is the MD5 hex form the triton CLI puts in keyId. */
export interface SshKeyCredential {
  accountId: string;
  login: string;
  fingerprint: string;
  /** OpenSSH one-line public key. */
  publicKey: string;
  type: string;
  name?: string;
  created_at: string;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export interface PasswordCredential {
  accountId: string;
  /** base64 */
  hash: string;
  /** base64, random per user (and per change) */
  salt: string;
  params: ScryptParams;
  /** When the password was last set: API tokens issued before it are no longer accepted. */
  updated_at: string;
}

export interface TokenCredential {
  /** sha256 hex of the token; the token itself is never stored. */
  hash: string;
  accountId: string;
  login: string;
  expires_at: string;
  created_at: string;
}

export interface AkskCredential {
  ak: string;
  sk: string;
  accountId: string;
  login: string;
  created_at: string;
}

/**
 * Password guessing is throttled per (source address, login), never per login alone, so nobody can
 * lock another person out from elsewhere (docs/decisions/lockout.md). An attempt reserves a slot
 * BEFORE the hash is computed (a conditional counter): at most `maxAttempts` unresolved or wrong
 * attempts per round, so concurrent guesses cannot overshoot. A wrong password that finds the round
 * full blocks the pair for `baseLockSeconds`, doubled at each further block up to `maxLockSeconds`;
 * a right password gives its slot back and forgets past blocks. A round left full by attempts that
 * never finished (a crashed function) starts afresh after `staleSeconds`.
 */
export interface LoginThrottlePolicy {
  maxAttempts: number;
  baseLockSeconds: number;
  maxLockSeconds: number;
  staleSeconds: number;
}

export const LOGIN_THROTTLE: LoginThrottlePolicy = { maxAttempts: 10, baseLockSeconds: 60, maxLockSeconds: 3600, staleSeconds: 900 };

export const lockSecondsFor = (policy: LoginThrottlePolicy, strikes: number): number =>
  Math.min(policy.maxLockSeconds, policy.baseLockSeconds * 2 ** Math.min(strikes, 30));
