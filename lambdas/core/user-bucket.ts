/**
 * "The caller's bucket": IMS imports read from, and exports write to, an object in a bucket the
 * caller owns (`image_url` / `bucket_url` = "bucket:key"). This service models an account's buckets
 * as an area of the images store, one prefix per account, so one account can never name another's
 * objects (the account id comes from the authenticated caller, never from the request):
 *
 *   user-buckets/<accountId>/<bucket>/<key>
 *
 * Files get there through the service's own exports, or an operator's upload (the admin command or
 * any S3 client with access to the images bucket). Image files live under `images/<imageId>/`, so the
 * two areas never overlap and a failed build's Cleanup never touches a user's object.
 */
import { keyUnder, objectKeyProblem } from './object-key';

export interface BucketObjectRef {
  bucket: string;
  key: string;
}

export const USER_BUCKETS_PREFIX = 'user-buckets/';

/** OBS/S3 bucket naming: 3–63 of lowercase letters, digits, "." and "-", starting and ending alphanumeric, no "..". */
export const BUCKET_NAME_RE = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Why a "bucket:key" reference is unusable, or undefined (the key is checked segment by segment, object-key.ts). */
export function bucketObjectProblem(ref: BucketObjectRef): string | undefined {
  if (!BUCKET_NAME_RE.test(ref.bucket)) return 'the bucket name is invalid (3–63 of a-z, 0-9, "." and "-")';
  const problem = objectKeyProblem(ref.key);
  return problem && `the file name ${problem}`;
}

/**
 * The one way a bucket reference becomes a storage key: the account id comes from the authenticated
 * caller, the bucket name is checked, and the key is checked by segment, so the result always lies
 * under `user-buckets/<accountId>/<bucket>/` whatever the caller sent (ValidationError otherwise).
 */
export const userBucketKey = (accountId: string, ref: BucketObjectRef): string => {
  if (!BUCKET_NAME_RE.test(ref.bucket)) return keyUnder(`${USER_BUCKETS_PREFIX}${accountId}/`, `${ref.bucket}/`, 'bucket');
  return keyUnder(`${USER_BUCKETS_PREFIX}${accountId}/${ref.bucket}/`, ref.key, 'key');
};

export const describeBucketObject = (ref: BucketObjectRef): string => `bucket object ${ref.bucket}:${ref.key}`;
