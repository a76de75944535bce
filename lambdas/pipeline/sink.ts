/**
 * Where the pipeline's output bytes go, in order.
 *
 * Contract:
 * - `write(chunk)` is called with the output bytes in order, one call at a time (the pipeline awaits
 *   each call before the next); it resolves when the sink can take more (backpressure). The pipeline
 *   never reuses or changes a buffer after handing it over, so the sink may keep it without copying.
 * - `close()` is called once after the last write: the sink commits what it received.
 * - `abort(reason)` is called on any failure or cancellation, possibly while a `write` or `close` is
 *   pending; the sink discards everything (for S3: AbortMultipartUpload). It must be idempotent and
 *   safe to call after a failed `close`. It rejects only if the clean-up itself failed.
 * - `writeHead(bytes)` (optional; disk formats whose front tables are known only at the end, see
 *   formats/stage.ts) is called at most once, after the last write and before close: the output's
 *   first `bytes.length` bytes, already written as a placeholder, become `bytes`.
 */
export interface PipelineSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
  writeHead?(head: Buffer): Promise<void>;
}

/** Replaces the first head.length bytes of `chunks` (never writing into the given buffers). */
export function patchHead(chunks: Buffer[], head: Buffer): Buffer[] {
  const out: Buffer[] = [head];
  let skip = head.length;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  if (skip > 0) throw new Error(`head of ${head.length} bytes is longer than the output`);
  return out;
}

/** A sink that keeps the output in memory (tests, small files). */
export interface MemorySink extends PipelineSink {
  readonly chunks: Buffer[];
  readonly closed: boolean;
  readonly aborted: boolean;
  /** The output so far, concatenated. */
  contents(): Buffer;
}

export function createMemorySink(): MemorySink {
  const chunks: Buffer[] = [];
  let closed = false;
  let aborted = false;
  return {
    chunks,
    get closed() {
      return closed;
    },
    get aborted() {
      return aborted;
    },
    contents: () => Buffer.concat(chunks),
    async write(chunk) {
      if (closed || aborted) throw new Error('memory sink: write after close or abort');
      chunks.push(chunk);
    },
    async close() {
      if (aborted) throw new Error('memory sink: close after abort');
      closed = true;
    },
    async abort() {
      aborted = true;
      chunks.length = 0;
    },
    async writeHead(head) {
      if (closed || aborted) throw new Error('memory sink: writeHead after close or abort');
      chunks.splice(0, chunks.length, ...patchHead(chunks, head));
    },
  };
}

/** A sink that drops the bytes, counting them and calling `onChunk` for each (benchmarks, tests). */
export interface DiscardSink extends PipelineSink {
  readonly bytes: number;
  readonly writes: number;
  readonly closed: boolean;
  readonly aborted: boolean;
}

export function createDiscardSink(onChunk?: (chunk: Buffer) => void): DiscardSink {
  let bytes = 0;
  let writes = 0;
  let closed = false;
  let aborted = false;
  return {
    get bytes() {
      return bytes;
    },
    get writes() {
      return writes;
    },
    get closed() {
      return closed;
    },
    get aborted() {
      return aborted;
    },
    async write(chunk) {
      bytes += chunk.length;
      writes += 1;
      onChunk?.(chunk);
    },
    async close() {
      closed = true;
    },
    async abort() {
      aborted = true;
    },
    async writeHead() {},
  };
}
