/**
 * PrepareSource: confirms the image is still `creating`, moves the job to RUNNING, and checks the
 * source disk exists, returning its stored size (state → `$.prepared`).
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { StateConflictError } from '../../core/errors';
import { config, s3Client } from '../../wiring';
import { steps } from '../deps';
import { BuildConflictError } from '../errors';
import { classifyS3Error } from '../s3-errors';
import type { BuildState, PreparedSource } from '../state';

export const handler = async (state: BuildState): Promise<PreparedSource> => {
  try {
    await steps.begin(state.jobId, state.imageId, 'PrepareSource');
  } catch (err) {
    if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
    throw err;
  }
  const head = await s3Client()
    .send(new HeadObjectCommand({ Bucket: config.disksBucket(), Key: state.source.diskKey }))
    .catch((err) => {
      throw classifyS3Error(err, `source disk of machine ${state.source.machineId}`);
    });
  return { size: head.ContentLength ?? 0, ...(head.ETag ? { etag: head.ETag } : {}) };
};
