/**
 * GET /v1/cloudimages/quota — ShowImageQuota (IMS): the caller's image quota as IMS answers it,
 * `{"quotas": {"resources": [{type, used, quota, min, max}]}}`; `image` is the images held, and
 * `image_build` (an extension type) the images building at once (core/quota.ts).
 */
import { httpHandler } from '../../../http/middleware';
import { quotaGate } from '../../../wiring';
import { imsRenderer } from '../renderer';

export const handler = httpHandler({ operation: 'ImsShowQuota', renderer: imsRenderer }, async (req) => {
  const usage = await quotaGate().usage(req.caller.accountId);
  return {
    status: 200,
    body: {
      quotas: {
        resources: [
          { type: 'image', used: usage.images, quota: usage.limits.images, min: 1, max: usage.limits.images },
          {
            type: 'image_build',
            used: usage.concurrentBuilds,
            quota: usage.limits.concurrentBuilds,
            min: 1,
            max: usage.limits.concurrentBuilds,
          },
        ],
      },
    },
  };
});
