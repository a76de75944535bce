/**
 * VerifyImageFile (provisioning in ranges from a format file, lambdas/workflow/expansion.ts): the
 * image file's sha256 against its manifest, in a loop of bounded invocations beside the ExpandRanges
 * Map (a Parallel branch), so no disk is completed from a file changed in storage. Each invocation
 * reads the next slice of the file (one ranged GET pinned to the ETag StartExpansion saw), feeds it to
 * sha256 and returns the hash's saved state as a checkpoint ($.verified); the branch's Choice calls it
 * again until `done`. A retry gets the same input, so it resumes from the last checkpoint. An invocation
 * stops at its byte budget ($.expansionSettings.hashBytesPerInvocation) or with a minute of its time left.
 * sha256 alone: equal sha256 is equal bytes (the manifest's sha1 adds nothing to that), and hash-wasm's
 * state can be saved and restored (Node's crypto hashes cannot).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { createSHA256 } from 'hash-wasm';
import type { Readable } from 'node:stream';
import { ImageFileCorruptError } from '../../core/errors';
import { config, machineRepository, s3Client } from '../../wiring';
import { BuildConflictError, SourceUnavailableError } from '../errors';
import type { ExpansionState, VerifyCheckpoint } from '../expansion';
import { classifyS3Error } from '../s3-errors';
import { observedTask } from '../../observability/powertools';

const TIME_MARGIN_MS = 60_000;

const isPreconditionFailed = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'PreconditionFailed' ||
  (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;

type VerifyState = ExpansionState & { verified?: VerifyCheckpoint };

export const handler = observedTask(
  'VerifyImageFile',
  async (state: VerifyState, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<VerifyCheckpoint> => {
    const machine = await machineRepository().get(state.machineId);
    if (machine?.state !== 'provisioning')
      throw new BuildConflictError(`machine ${state.machineId} is ${machine?.state ?? 'gone'}; nothing to provision`);
    const { file, expansion } = state;
    const budget = state.expansionSettings?.hashBytesPerInvocation;
    if (!budget || !Number.isSafeInteger(budget) || budget < 1)
      throw new Error('VerifyImageFile needs $.expansionSettings.hashBytesPerInvocation');
    const previous = state.verified;
    const sha256 = await createSHA256();
    if (previous?.sha256State) sha256.load(Buffer.from(previous.sha256State, 'base64'));
    else sha256.init();
    const label = `the image file ${file.key}`;
    let offset = previous?.offset ?? 0;
    const end = Math.min(file.size, offset + budget);
    if (offset < end) {
      try {
        const object = await s3Client().send(
          new GetObjectCommand({
            Bucket: config.imagesBucket(),
            Key: file.key,
            Range: `bytes=${offset}-${end - 1}`,
            ...(expansion.fileEtag && { IfMatch: expansion.fileEtag }),
          }),
        );
        const body = object.Body as Readable;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (offset + chunk.length > end) throw new Error('the ranged GET returned more bytes than asked');
          sha256.update(chunk);
          offset += chunk.length;
          if (context && context.getRemainingTimeInMillis() < TIME_MARGIN_MS) {
            body.destroy();
            break;
          }
        }
      } catch (err) {
        if (isPreconditionFailed(err)) throw new SourceUnavailableError(`${label} changed while the disk was being made`);
        throw classifyS3Error(err, `verifying ${label} from byte ${offset}`);
      }
    }
    const invocations = (previous?.invocations ?? 0) + 1;
    if (offset < file.size) return { offset, sha256State: Buffer.from(sha256.save()).toString('base64'), invocations, done: false };
    if (sha256.digest('hex') !== file.sha256) throw new ImageFileCorruptError(`${label} does not match its manifest's sha256`);
    return { offset, sha256State: '', invocations, done: true };
  },
);
