/**
 * HashFile (chunked builds): the whole-file sha1 and sha256 of the assembled image file, computed in
 * a loop of bounded invocations. Each reads the next slice of the file (a ranged GET pinned to its
 * ETag), feeds both hashes, and returns their saved internal states as a checkpoint ($.hash); the
 * state machine's Choice calls it again until `done`. A retry gets the same input, so it resumes from
 * the last checkpoint, never from byte 0. hash-wasm is used because its state can be saved and
 * restored (Node's crypto hashes cannot be serialized); sha1 runs in a worker thread while sha256
 * runs here (lambdas/pipeline/dual-hash.ts), so the pass goes at sha256's speed, not the sum.
 *
 * An invocation stops at its byte budget ($.chunking.hashBytesPerInvocation) or when less than a
 * minute of its time is left, whichever comes first.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { Readable } from 'node:stream';
import { DualHash } from '../../pipeline/dual-hash';
import { config, s3Client } from '../../wiring';
import type { AssembledFile, ChunkedUpload, ChunkingState, ComposedOva, HashCheckpoint } from '../chunked';
import { steps } from '../deps';
import { StateConflictError } from '../../core/errors';
import { BuildConflictError, TransientStorageError } from '../errors';
import { imageFileKey, type BuildState } from '../state';
import { workflowTask } from '../attempt';

const TIME_MARGIN_MS = 60_000;
/**
 * Job progress: 80 % when hashing starts, 99 % when it ends (Finalize makes it 100). An ova is hashed
 * twice (its vmdk 80 → 89, ComposeOva 89 → 90, the ova 90 → 99).
 */
const progressOf = (offset: number, size: number, [from, to]: [number, number]) =>
  from + (size > 0 ? ((to - from) * offset) / size : to - from);

type HashState = BuildState & {
  chunking: ChunkingState;
  chunked?: ChunkedUpload;
  assembled: AssembledFile;
  hash?: HashCheckpoint;
  composed?: ComposedOva;
};

/**
 * The object this pass hashes: the assembled file, or, once ComposeOva has written it, the ova
 * around the assembled vmdk (ova-compose.ts); and the progress span of the pass.
 */
function hashTarget(state: HashState): { key: string; size: number; etag: string; span: [number, number] } {
  if (state.composed?.done) return { key: state.composed.key, size: state.composed.size!, etag: state.composed.etag!, span: [90, 99] };
  return {
    // the key StartRanges chose (a converted file's has the format's extension)
    key: state.chunked?.key ?? imageFileKey(state.imageId, state.target.compression),
    size: state.assembled.size,
    etag: state.assembled.etag,
    span: state.chunked?.output?.format === 'ova' ? [80, 89] : [80, 99],
  };
}

export const handler = workflowTask(
  'HashFile',
  async (state: HashState, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<HashCheckpoint> => {
    // a finished checkpoint is the previous pass's (an ova's vmdk): this call starts the next pass
    const previous = state.hash?.done ? undefined : state.hash;
    const hashes = await DualHash.create(
      previous && { sha1: Buffer.from(previous.sha1State, 'base64'), sha256: Buffer.from(previous.sha256State, 'base64') },
    );
    try {
      return await hashSlice(state, hashes, previous?.offset ?? 0, context);
    } finally {
      await hashes.close();
    }
  },
);

/** Hashes the next slice of the file from `start`: the checkpoint to continue from, or the digests. */
async function hashSlice(
  state: HashState,
  hashes: DualHash,
  start: number,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<HashCheckpoint> {
  const { key, size, etag, span } = hashTarget(state);
  const previous = state.hash?.done ? undefined : state.hash;
  let offset = start;
  const end = Math.min(size, offset + state.chunking.hashBytesPerInvocation);
  if (offset < end) {
    const s3 = s3Client();
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: config.imagesBucket(), Key: key, Range: `bytes=${offset}-${end - 1}`, IfMatch: etag }),
      );
      const body = object.Body as Readable;
      let lastReport = Date.now();
      for await (const chunk of body as AsyncIterable<Buffer>) {
        await hashes.update(chunk);
        offset += chunk.length;
        if (context && context.getRemainingTimeInMillis() < TIME_MARGIN_MS) {
          body.destroy();
          break;
        }
        if (Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          await steps.progress(state.jobId, progressOf(offset, size, span), 'HashFile');
        }
      }
    } catch (err) {
      // the job left RUNNING (failed, cancelled): stop, don't retry
      if (err instanceof StateConflictError) throw new BuildConflictError(err.message);
      throw new TransientStorageError(
        `hashing s3://${config.imagesBucket()}/${key} from byte ${offset}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (offset > end)
      throw new TransientStorageError(`s3://${config.imagesBucket()}/${key}: the ranged GET returned more bytes than asked`);
  }
  const invocations = (previous?.invocations ?? 0) + 1;
  const output = state.chunked?.output && state.chunked.output.format !== 'raw' ? state.chunked.output : undefined;
  if (offset < size) {
    await steps.progress(state.jobId, progressOf(offset, size, span), 'HashFile');
    const saved = await hashes.save();
    return {
      offset,
      sha1State: Buffer.from(saved.sha1).toString('base64'),
      sha256State: Buffer.from(saved.sha256).toString('base64'),
      invocations,
      done: false,
    };
  }
  const digests = await hashes.digest();
  return {
    offset,
    sha1State: '',
    sha256State: '',
    invocations,
    done: true,
    file: {
      size,
      sha1: digests.sha1,
      sha256: digests.sha256,
      compression: state.target.compression,
      // written by the ranges (chunked.output), as BuildImageFile records a converted file
      ...(output
        ? { format: output.format, key, virtualSize: Math.ceil((state.prepared?.size ?? state.source.size) / 512) * 512 }
        : {
            format: state.target.format ?? state.prepared?.format ?? 'raw',
            key,
            virtualSize: state.prepared?.virtualSize ?? state.prepared?.size ?? state.source.size,
          }),
      ...(state.assembled.rangeIndex && { rangeIndex: state.assembled.rangeIndex }),
    },
  };
}
