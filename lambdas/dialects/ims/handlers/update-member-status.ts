/**
 * PUT /v1/cloudimages/members — BatchUpdateMembers (IMS): the caller, a sharee, accepts or rejects
 * images shared with it: `{"images": [ids], "project_id": <caller's project>, "status":
 * "accepted"|"rejected"}` → 200 `{job_id}` (docs/decisions/sharing-consent.md). `vault_id` (CBR
 * full-ECS images) is accepted and ignored. A project_id that is not the caller's is 403.
 */
import * as z from 'zod';
import { NotAuthorizedError } from '../../../core/errors';
import { answerShares } from '../../../core/use-cases/share-consent';
import { errorFromIssues } from '../../../core/validation';
import { httpHandler } from '../../../http/middleware';
import { fieldIssues } from '../../../http/zod-issues';
import { clock, ids, imageRepository, jobRepository } from '../../../wiring';
import { imsRenderer } from '../renderer';

export const updateMemberStatusBody = z.strictObject({
  images: z.array(z.string().min(1).max(64)).min(1).max(100),
  project_id: z.string().min(1).max(64),
  status: z.enum(['accepted', 'rejected']),
  vault_id: z.string().min(1).max(64).optional(),
});

export const handler = httpHandler({ operation: 'ImsUpdateMemberStatus', renderer: imsRenderer }, async (req) => {
  if (req.body === undefined) throw errorFromIssues([{ field: '(body)', code: 'MissingParameter', message: 'the request body is empty' }]);
  const parsed = updateMemberStatusBody.safeParse(req.body);
  if (!parsed.success) throw errorFromIssues(fieldIssues(parsed.error, req.body));
  if (parsed.data.project_id !== req.caller.accountId)
    throw new NotAuthorizedError(`${req.caller.login} may not answer shares for project ${parsed.data.project_id}`);
  const job = await answerShares({ images: imageRepository(), jobs: jobRepository(), clock, ids })(
    req.caller,
    parsed.data.images,
    parsed.data.status,
  );
  return { status: 200, body: { job_id: job.id } };
});
