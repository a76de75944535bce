/**
 * Object keys built from what a caller typed (IMS `image_url`/`bucket_url` keys, Triton `manta_path`)
 * are checked segment by segment before they are joined under the caller's own prefix, so that no
 * backend — S3 treats a key as opaque, but a file-system emulator, a sync tool or a presigned-URL
 * path normalizer may not — could ever read a key as leaving that prefix:
 *
 * - no empty segment (no leading, trailing or doubled "/"), no "." or ".." segment;
 * - no control character (C0, DEL, C1) anywhere, and no backslash (a path separator elsewhere);
 * - at most 1024 bytes of UTF-8 (S3's limit for the whole key; callers check their full key too).
 */
import { ValidationError } from './errors';

export const MAX_KEY_BYTES = 1024;

const CONTROL = /\p{Cc}/u;

/** Why `key` is not a safe relative key, or undefined when it is. */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(key)) return 'must not contain control characters';
  if (key.includes('\\')) return 'must not contain a backslash';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'must not start or end with "/" nor contain "//"';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  return undefined;
}

/** Throws a ValidationError naming `field` when `key` is not a safe relative key. */
export function assertSafeObjectKey(key: string, field: string): string {
  const problem = objectKeyProblem(key);
  if (problem) throw new ValidationError(`${field} ${problem}`, [{ field, code: 'Invalid', message: problem }]);
  return key;
}

/** `prefix` + `relative`, refusing any relative part that is not a safe key (see objectKeyProblem). */
export function keyUnder(prefix: string, relative: string, field: string): string {
  if (!prefix.endsWith('/')) throw new Error(`key prefix ${prefix} must end with "/"`);
  const key = prefix + assertSafeObjectKey(relative, field);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ValidationError(`${field} is too long`, [
      { field, code: 'Invalid', message: `the stored key would exceed ${MAX_KEY_BYTES} bytes` },
    ]);
  }
  return key;
}
