/**
 * The streaming build pipeline: raw disk bytes → disk-format writer (raw by default; qcow2, vmdk,
 * vhd, ova: formats/) → compressor (gzip | none) → sha1 + sha256 → sink.
 *
 * Formats whose front tables are only known at the end (formats/stage.ts: headSize > 0) stream a
 * placeholder head, then hand the real head to `sink.writeHead` before close; with gzip the head is
 * its own stored (level 0) gzip member, whose size depends only on its length, so the placeholder
 * member and the real one are the same size. The digests are then of the final bytes, read back
 * through `readBack` (the stored object) after close.
 *
 * gzip: the input is cut into fixed-size chunks and each chunk is compressed into independent gzip
 * members with the async `zlib.gzip`, which runs on libuv's thread pool, so several chunks compress at
 * once (one per core); runs of incompressible blocks are stored rather than deflated (members.ts).
 * Members are hashed and written strictly in input order; their concatenation is one valid gzip file
 * (RFC 1952 §2.2; gunzip and zlib decode every member). At most
 * `maxChunksInFlight` chunks exist at a time (filled, compressing, or waiting to be written) and the
 * source is not read while that limit is reached, so memory is bounded whatever the disk size.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { PipelineOptionsError, SourceSizeMismatchError, type WithSinkAbortError } from './errors';
import { createWriter, type OutputSpec } from './formats';
import { compressChunk, gzipMember } from './members';
import type { PipelineSink } from './sink';

export type Compression = 'gzip' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['gzip', 'none'];

const MiB = 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 4 * MiB;
export const DEFAULT_GZIP_LEVEL = 6;
export interface PipelineResult {
  /** Output (stored file) bytes. */
  size: number;
  /** Hex digests of the output bytes ('' when `hash: false`). */
  sha1: string;
  sha256: string;
  /** Bytes read from the source (always equals sourceSize on success). */
  sourceBytes: number;
  /** The disk format written (a writer's `format`: raw, qcow2, vmdk, vhd, ova). */
  format: string;
  /** Bytes of the disk the file declares (the source size for raw; rounded up to 512 otherwise). */
  virtualSize: number;
}

export interface PipelineStats {
  /** Chunks dispatched (gzip members; for 'none', source pieces). */
  chunks: number;
  /** Most chunks alive at once (being filled, compressing, or waiting for the sink). */
  maxChunksInFlight: number;
  /** Most input + output bytes held by the pipeline at once (chunk buffers, outputs not yet written). */
  maxBytesInFlight: number;
  /** The bounds in force. */
  chunkSize: number;
  chunksInFlightLimit: number;
}

export interface BuildImageFileOptions {
  /**
   * The raw disk, e.g. the S3 GetObject Body stream. Strings are rejected. With 'none' the yielded
   * buffers (or views of them, through a format writer) are handed to the sink as they are, so the
   * source must not reuse a buffer once yielded (Node streams, HTTP bodies and fs streams don't) —
   * unless the sink copies what it is given before its write resolves (the S3 sink does): each output
   * is written before the next is asked for, so a source may then recycle a piece once it is the
   * writer's `retainBytes` behind (formats/stage.ts, sequentialReads).
   */
  source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>;
  /** Expected source bytes (HeadObject ContentLength); a short or long read is an error. */
  sourceSize: number;
  compression: Compression;
  /** The disk format to write, default raw (the source's bytes as they are). */
  output?: OutputSpec;
  /**
   * Reads the stored output back after close (e.g. a GetObject of the key): needed when the output
   * format patches its head at the end (qcow2, vmdk monolithicSparse, vhd dynamic, ova), to compute
   * the digests of the final bytes.
   */
  readBack?: () => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;
  /** gzip level 0–9, default 6. */
  level?: number;
  /**
   * Store runs of incompressible 64 KiB blocks (already compressed or encrypted data) as level-0
   * members instead of deflating them: same decompressed bytes, slightly smaller output, and the
   * slowest third of a typical disk skipped (see members.ts). Default true.
   */
  storeIncompressible?: boolean;
  sink: PipelineSink;
  /**
   * Hash the output (sha1 + sha256), default true. A range of a chunked build passes false: the
   * whole-file digests are computed over the assembled file (lambdas/workflow/tasks/hash-file.ts).
   */
  hash?: boolean;
  /**
   * Source bytes whose output has reached the sink; called at most once per second, never while a
   * previous call's promise is pending. A rejection fails the pipeline (e.g. the job was cancelled).
   */
  onProgress?: (sourceBytesDone: number) => void | Promise<void>;
  signal?: AbortSignal;
  /** Input bytes per chunk (compressed independently into one or more gzip members), default 4 MiB. */
  chunkSize?: number;
  /** Chunks alive at once (≥ 2), default: cores + 2 (cores compressing, one filling, one writing). */
  maxChunksInFlight?: number;
  /** Called once at the end (success or failure) with memory/concurrency figures. */
  onStats?: (stats: PipelineStats) => void;
}

/** libuv's thread pool size: async zlib work beyond it just queues. */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

export function defaultChunksInFlight(): number {
  return Math.max(2, Math.min(availableParallelism(), threadPoolSize())) + 2;
}

function toBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  throw new TypeError(
    `pipeline source must yield bytes, got ${typeof piece === 'string' ? 'a string (stream has an encoding set?)' : typeof piece}`,
  );
}

function validate(opts: BuildImageFileOptions): { level: number; chunkSize: number; limit: number } {
  const { sourceSize, compression } = opts;
  if (!Number.isSafeInteger(sourceSize) || sourceSize < 0) throw new PipelineOptionsError(`invalid sourceSize ${sourceSize}`);
  if (!COMPRESSIONS.includes(compression)) throw new PipelineOptionsError(`unsupported compression ${String(compression)}`);
  const level = opts.level ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new PipelineOptionsError(`invalid gzip level ${level}`);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new PipelineOptionsError(`invalid chunkSize ${chunkSize}`);
  const limit = opts.maxChunksInFlight ?? defaultChunksInFlight();
  if (!Number.isInteger(limit) || limit < 2) throw new PipelineOptionsError(`maxChunksInFlight must be an integer ≥ 2, got ${limit}`);
  return { level, chunkSize, limit };
}

/**
 * Streams `source` through the compressor into `sink`, hashing the output. Resolves after
 * `sink.close()` succeeded. On any failure (source error, size mismatch, compressor or sink error,
 * progress callback rejection, abort signal) it stops reading, destroys the source, awaits
 * `sink.abort(error)` and rejects with the original error.
 */
export async function buildImageFile(opts: BuildImageFileOptions): Promise<PipelineResult> {
  const { sourceSize, compression, sink, signal, onProgress } = opts;
  const { level, chunkSize, limit } = validate(opts);
  const storeIncompressible = opts.storeIncompressible ?? true;
  const writer = opts.output && opts.output.format !== 'raw' ? createWriter(opts.output, { virtualSize: sourceSize }) : undefined;
  if (writer && writer.headSize > 0 && (!sink.writeHead || (!opts.readBack && (opts.hash ?? true)))) {
    throw new PipelineOptionsError(
      `${opts.output!.format} output needs a sink that can write its head (writeHead) and a readBack to hash the result`,
    );
  }
  // with a writer, the size check and the raw-bytes count happen before it
  let rawBytes = 0;
  const rawSource = opts.source;
  const source: NodeJS.ReadableStream | AsyncIterable<Uint8Array> = writer
    ? writer.write(
        (async function* () {
          for await (const piece of rawSource as AsyncIterable<Uint8Array>) {
            const buf = toBuffer(piece);
            rawBytes += buf.length;
            yield buf;
          }
        })(),
      )
    : rawSource;

  const hashing = opts.hash ?? true;
  // a format with a head is hashed once, over the stored file read back (its first bytes change
  // at the end): hashing the streamed bytes too would only double the cost
  const hashStream = hashing && !(writer && writer.headSize > 0);
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let outSize = 0;
  let sourceBytes = 0;
  let doneBytes = 0; // source bytes whose output reached the sink

  const stats: PipelineStats = { chunks: 0, maxChunksInFlight: 0, maxBytesInFlight: 0, chunkSize, chunksInFlightLimit: limit };
  let chunksInFlight = 0;
  let bytesInFlight = 0;
  const hold = (chunks: number, bytes: number): void => {
    chunksInFlight += chunks;
    bytesInFlight += bytes;
    if (chunksInFlight > stats.maxChunksInFlight) stats.maxChunksInFlight = chunksInFlight;
    if (bytesInFlight > stats.maxBytesInFlight) stats.maxBytesInFlight = bytesInFlight;
  };

  // First failure wins; every wait below races against it. (Not Promise.race against one pending
  // promise: that keeps every raced value reachable until it settles, i.e. the whole disk.)
  let failed = false;
  let failure: unknown;
  const waiters = new Set<(err: unknown) => void>();
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    failure = err;
    for (const reject of waiters) reject(err);
    waiters.clear();
    const stream = rawSource as { destroy?: (err?: Error) => void };
    if (typeof stream.destroy === 'function') stream.destroy();
    else
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
  };
  const race = <T>(p: Promise<T>): Promise<T> => {
    if (failed) {
      p.catch(() => undefined);
      return Promise.reject(failure);
    }
    return new Promise<T>((resolve, reject) => {
      waiters.add(reject);
      p.then(
        (v) => {
          waiters.delete(reject);
          resolve(v);
        },
        (e) => {
          waiters.delete(reject);
          reject(e);
        },
      );
    });
  };

  const onAbort = (): void => fail(signal?.reason ?? new Error('aborted'));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  // Progress: at most once a second, never overlapping.
  let lastProgress = Date.now();
  let progressPending = false;
  const progress = (): void => {
    if (!onProgress || progressPending || failed) return;
    const now = Date.now();
    if (now - lastProgress < 1000) return;
    lastProgress = now;
    try {
      const r = onProgress(doneBytes);
      if (r && typeof (r as Promise<void>).then === 'function') {
        progressPending = true;
        (r as Promise<void>).then(() => {
          progressPending = false;
        }, fail);
      }
    } catch (err) {
      fail(err);
    }
  };

  const emitOutput = async (out: Buffer, inputBytes: number): Promise<void> => {
    if (hashStream) {
      sha1.update(out);
      sha256.update(out);
    }
    outSize += out.length;
    await race(sink.write(out));
    doneBytes = writer ? rawBytes : doneBytes + inputBytes;
    progress();
  };

  // gzip: ordered chain of in-flight members (dispatched, not yet written to the sink).
  const inFlight = new Set<Promise<void>>();
  let tail: Promise<void> = Promise.resolve();
  const pool: Buffer[] = []; // recycled input chunk buffers
  const dispatch = (input: Buffer, length: number): void => {
    const view = input.subarray(0, length);
    stats.chunks += 1;
    const compressed = compressChunk(view, level, storeIncompressible).then((out) => {
      if (input.length === chunkSize && pool.length < limit) pool.push(input);
      hold(0, out.length - chunkSize); // input buffer released (pooled), output held
      return out;
    });
    compressed.catch(() => undefined);
    const done = tail.then(async () => {
      const out = await race(compressed);
      if (failed) return;
      await emitOutput(out, length);
      hold(-1, -out.length);
    });
    done.then(() => inFlight.delete(done), fail);
    tail = done;
    inFlight.add(done);
  };
  /** Waits until one more chunk may be filled: dispatched + the new one ≤ limit. */
  const admit = async (): Promise<void> => {
    while (inFlight.size >= limit) await race(inFlight.values().next().value!);
  };
  const newChunk = (): Buffer => {
    const buf = pool.pop() ?? Buffer.allocUnsafe(chunkSize);
    hold(1, chunkSize);
    return buf;
  };

  const headSize = writer?.headSize ?? 0;
  let headMemberSize = 0;
  try {
    if (failed) throw failure;
    let chunk: Buffer | undefined;
    let filled = 0;
    if (headSize > 0) {
      // the writer's first piece is the head's placeholder (formats/stage.ts)
      const first = await race(iterator.next());
      if (first.done || toBuffer(first.value).length !== headSize)
        throw new Error(`${writer!.format} writer did not start with its ${headSize}-byte head`);
      const placeholder = toBuffer(first.value);
      stats.chunks += 1;
      if (compression === 'gzip') {
        const member = await race(gzipMember(placeholder, 0));
        headMemberSize = member.length;
        await emitOutput(member, 0);
      } else await emitOutput(placeholder, 0);
    }
    for (;;) {
      const next = await race(iterator.next());
      if (next.done) break;
      const piece = toBuffer(next.value);
      sourceBytes += piece.length;
      if (!writer && sourceBytes > sourceSize) throw new SourceSizeMismatchError(sourceSize, sourceBytes, false);
      if (piece.length === 0) continue;
      if (compression === 'none') {
        stats.chunks += 1;
        hold(1, piece.length);
        await emitOutput(piece, piece.length);
        hold(-1, -piece.length);
        continue;
      }
      let offset = 0;
      while (offset < piece.length) {
        if (!chunk) {
          await admit();
          chunk = newChunk();
          filled = 0;
        }
        const n = piece.copy(chunk, filled, offset, Math.min(piece.length, offset + chunkSize - filled));
        offset += n;
        filled += n;
        if (filled === chunkSize) {
          dispatch(chunk, filled);
          chunk = undefined;
        }
      }
    }
    if (failed) throw failure;
    if (writer) sourceBytes = rawBytes;
    if (sourceBytes !== sourceSize) throw new SourceSizeMismatchError(sourceSize, sourceBytes, true);
    if (compression === 'gzip') {
      // the remainder, or one empty member for an empty disk (a valid, empty gzip file)
      if (chunk || stats.chunks === 0) {
        if (!chunk) {
          await admit();
          chunk = newChunk();
        }
        dispatch(chunk, filled);
        chunk = undefined;
      }
      await race(tail);
    }
    if (failed) throw failure;
    if (headSize > 0) {
      let head = writer!.head();
      if (compression === 'gzip') {
        head = await race(gzipMember(head, 0));
        if (head.length !== headMemberSize)
          throw new Error(`stored gzip member of the head changed size (${headMemberSize} → ${head.length})`);
      }
      await race(sink.writeHead!(head));
    }
    signal?.removeEventListener('abort', onAbort);
    await sink.close();
    const format = writer?.format ?? 'raw';
    const virtualSize = writer?.virtualSize ?? sourceSize;
    if (headSize === 0 || !hashing)
      return {
        size: outSize,
        sha1: hashing ? sha1.digest('hex') : '',
        sha256: hashing ? sha256.digest('hex') : '',
        sourceBytes,
        format,
        virtualSize,
      };
    // digests of the final bytes: read the stored output back
    const h1 = createHash('sha1');
    const h256 = createHash('sha256');
    let readBytes = 0;
    for await (const piece of await opts.readBack!()) {
      const buf = toBuffer(piece);
      h1.update(buf);
      h256.update(buf);
      readBytes += buf.length;
    }
    if (readBytes !== outSize) throw new Error(`the stored output has ${readBytes} bytes, ${outSize} were written`);
    return { size: outSize, sha1: h1.digest('hex'), sha256: h256.digest('hex'), sourceBytes, format, virtualSize };
  } catch (err) {
    fail(err);
    const original = failure;
    // let in-flight compressions finish so nothing writes to the sink after its abort
    await Promise.allSettled(inFlight);
    try {
      await sink.abort(original);
    } catch (abortErr) {
      if (original && typeof original === 'object') (original as WithSinkAbortError).sinkAbortError = abortErr;
    }
    throw original;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    opts.onStats?.(stats);
  }
}
