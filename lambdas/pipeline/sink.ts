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
 */
export interface PipelineSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
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
    get closed() { return closed; },
    get aborted() { return aborted; },
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
    get bytes() { return bytes; },
    get writes() { return writes; },
    get closed() { return closed; },
    get aborted() { return aborted; },
    async write(chunk) {
      bytes += chunk.length;
      writes += 1;
      onChunk?.(chunk);
    },
    async close() { closed = true; },
    async abort() { aborted = true; },
  };
}
