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
export interface BucketObjectRef {
  bucket: string;
  key: string;
}

export const USER_BUCKETS_PREFIX = 'user-buckets/';

/** OBS/S3 bucket naming: 3–63 of lowercase letters, digits, "." and "-", starting and ending alphanumeric. */
export const BUCKET_NAME_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const userBucketKey = (accountId: string, ref: BucketObjectRef): string => `${USER_BUCKETS_PREFIX}${accountId}/${ref.bucket}/${ref.key}`;

export const describeBucketObject = (ref: BucketObjectRef): string => `bucket object ${ref.bucket}:${ref.key}`;
