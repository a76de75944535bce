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
  /** Consecutive wrong passwords since the last good one. */
  failures: number;
  /** ISO time until which every Basic attempt is refused (after too many failures). */
  locked_until?: string;
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

/** Lockout policy for HTTP Basic: this many consecutive failures lock the password for LOCK_SECONDS. */
export const PASSWORD_MAX_FAILURES = 10;
export const PASSWORD_LOCK_SECONDS = 300;
