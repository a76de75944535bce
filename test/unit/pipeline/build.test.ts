import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import {
  buildImageFile,
  createDiscardSink,
  createMemorySink,
  SourceSizeMismatchError,
  PipelineOptionsError,
  type PipelineSink,
  type PipelineStats,
} from '../../../lambdas/pipeline';
import { bufferSource, collect, openDisk } from '../../../lambdas/pipeline/formats';
import { generateDiskBuffer } from '../../helpers/disk-content';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 256 * KiB;

const sha = (alg: 'sha1' | 'sha256', data: Buffer): string => createHash(alg).update(data).digest('hex');

/** Yields `data` in pieces of `piece` bytes (fresh copies, like a network stream). */
async function* pieces(data: Buffer, piece = 64 * KiB): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += piece) yield Buffer.from(data.subarray(off, off + piece));
}

describe('buildImageFile', () => {
  const cases: [string, number][] = [
    ['empty input', 0],
    ['input smaller than one chunk', 100 * KiB + 7],
    ['exactly one chunk', CHUNK],
    ['many chunks with a remainder', 9 * CHUNK + 12_345],
  ];

  describe.each(cases)('%s', (_name, size) => {
    const input = generateDiskBuffer(size, 7);

    it('hashes the stored bytes exactly for gzip', async () => {
      // Prepare
      const sink = createMemorySink();

      // Act
      const result = await buildImageFile({ source: pieces(input), sourceSize: size, compression: 'gzip', sink, chunkSize: CHUNK });

      // Assess
      const stored = sink.contents();
      expect(sink.closed).toBe(true);
      expect(result).toEqual({
        size: stored.length,
        sha1: sha('sha1', stored),
        sha256: sha('sha256', stored),
        sourceBytes: size,
        format: 'raw',
        virtualSize: size,
      });
      expect(gunzipSync(stored).equals(input)).toBe(true);
    });

    it('hashes the stored bytes exactly for none', async () => {
      // Prepare
      const sink = createMemorySink();

      // Act
      const result = await buildImageFile({ source: Readable.from(pieces(input, 100_000)), sourceSize: size, compression: 'none', sink });

      // Assess
      const stored = sink.contents();
      expect(stored.equals(input)).toBe(true);
      expect(result).toEqual({
        size,
        sha1: sha('sha1', input),
        sha256: sha('sha256', input),
        sourceBytes: size,
        format: 'raw',
        virtualSize: size,
      });
    });
  });

  it('writes each chunk as its own gzip member(s), in input order', async () => {
    // Prepare
    const input = generateDiskBuffer(5 * CHUNK + 1, 3);
    const sink = createMemorySink();

    // Act
    await buildImageFile({
      source: pieces(input, 100_000),
      sourceSize: input.length,
      compression: 'gzip',
      level: 1,
      sink,
      chunkSize: CHUNK,
    });

    // Assess
    expect(sink.chunks).toHaveLength(6);
    sink.chunks.forEach((member, i) => {
      expect(gunzipSync(member).equals(input.subarray(i * CHUNK, (i + 1) * CHUNK))).toBe(true);
    });
  });

  it('accepts a Node stream with plain Uint8Array pieces and the default chunk size', async () => {
    // Prepare
    const input = generateDiskBuffer(3 * MiB, 11);
    const source = Readable.from([new Uint8Array(input.subarray(0, MiB)), new Uint8Array(input.subarray(MiB))]);
    const sink = createMemorySink();

    // Act
    const result = await buildImageFile({ source, sourceSize: input.length, compression: 'gzip', sink });

    // Assess
    expect(gunzipSync(sink.contents()).equals(input)).toBe(true);
    expect(result.sha256).toBe(sha('sha256', sink.contents()));
  });

  it('keeps chunks and bytes in flight bounded for a disk much larger than the chunk size', async () => {
    // Prepare: 128 MiB (512 chunks) of realistic content through a sink that only hashes
    const block = generateDiskBuffer(MiB, 5);
    const total = 128 * MiB;
    let yielded = 0;
    let sinkWrites = 0;
    let maxReadAhead = 0;
    async function* source(): AsyncGenerator<Buffer> {
      while (yielded < total) {
        yielded += block.length;
        maxReadAhead = Math.max(maxReadAhead, yielded - sinkWrites * CHUNK);
        yield block;
      }
    }
    const hash = createHash('sha256');
    const sink = createDiscardSink((chunk) => {
      hash.update(chunk);
      sinkWrites += 1;
    });
    let stats: PipelineStats | undefined;

    // Act
    const result = await buildImageFile({
      source: source(),
      sourceSize: total,
      compression: 'gzip',
      level: 1,
      sink,
      chunkSize: CHUNK,
      maxChunksInFlight: 4,
      onStats: (s) => {
        stats = s;
      },
    });

    // Assess
    expect(result.sourceBytes).toBe(total);
    expect(result.sha256).toBe(hash.digest('hex'));
    expect(sink.bytes).toBe(result.size);
    expect(stats!.chunks).toBe(total / CHUNK);
    expect(stats!.maxChunksInFlight).toBeLessThanOrEqual(4);
    // 4 chunk buffers, plus outputs (≤ deflate bound) not yet written
    expect(stats!.maxBytesInFlight).toBeLessThanOrEqual(4 * CHUNK * 2.01);
    // the source is read no further than the chunks in flight plus one source piece
    expect(maxReadAhead).toBeLessThanOrEqual(4 * CHUNK + block.length);
  });

  it('stops reading while a slow sink catches up', async () => {
    // Prepare
    const input = generateDiskBuffer(4 * MiB, 9);
    let yielded = 0;
    let written = 0;
    let maxReadAhead = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for await (const piece of pieces(input, 16 * KiB)) {
        yielded += piece.length;
        maxReadAhead = Math.max(maxReadAhead, yielded - written);
        yield piece;
      }
    }
    const sink: PipelineSink = {
      async write(chunk) {
        await new Promise((r) => setTimeout(r, 1));
        written += chunk.length;
      },
      async close() {},
      async abort() {},
    };

    // Act
    const result = await buildImageFile({ source: source(), sourceSize: input.length, compression: 'none', sink });

    // Assess
    expect(result.size).toBe(input.length);
    expect(maxReadAhead).toBeLessThanOrEqual(16 * KiB);
  });

  describe('failures', () => {
    const input = generateDiskBuffer(8 * CHUNK, 13);

    it('rejects and aborts the sink when the source errors mid-stream', async () => {
      // Prepare
      async function* failing(): AsyncGenerator<Buffer> {
        yield input.subarray(0, 3 * CHUNK);
        throw new Error('connection reset');
      }
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: failing(), sourceSize: input.length, compression: 'gzip', sink, chunkSize: CHUNK });

      // Assess
      await expect(run).rejects.toThrow('connection reset');
      expect(sink.aborted).toBe(true);
      expect(sink.closed).toBe(false);
    });

    it('rejects and destroys a Node stream source that errors', async () => {
      // Prepare
      const source = new Readable({ read() {} });
      source.push(input.subarray(0, CHUNK));
      setTimeout(() => source.destroy(new Error('socket hang up')), 5);
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source, sourceSize: input.length, compression: 'none', sink });

      // Assess
      await expect(run).rejects.toThrow('socket hang up');
      expect(sink.aborted).toBe(true);
    });

    it.each(['gzip', 'none'] as const)('rejects a short source with SourceSizeMismatchError (%s)', async (compression) => {
      // Prepare
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: pieces(input), sourceSize: input.length + 1, compression, sink, chunkSize: CHUNK });

      // Assess
      await expect(run).rejects.toThrow(SourceSizeMismatchError);
      await expect(run).rejects.toThrow(`source ended after ${input.length} bytes, expected ${input.length + 1}`);
      expect(sink.aborted).toBe(true);
      expect(sink.closed).toBe(false);
    });

    it.each(['gzip', 'none'] as const)('rejects a long source as soon as it overruns (%s)', async (compression) => {
      // Prepare
      let yielded = 0;
      async function* source(): AsyncGenerator<Buffer> {
        for await (const piece of pieces(input)) {
          yielded += piece.length;
          yield piece;
        }
      }
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: source(), sourceSize: CHUNK, compression, sink, chunkSize: CHUNK });

      // Assess
      await expect(run).rejects.toThrow(/more than the expected 262144 bytes/);
      expect(yielded).toBe(CHUNK + 64 * KiB);
      expect(sink.aborted).toBe(true);
    });

    it('rejects with the signal reason and aborts the sink when aborted mid-stream', async () => {
      // Prepare
      const controller = new AbortController();
      async function* slow(): AsyncGenerator<Buffer> {
        yield input.subarray(0, CHUNK);
        controller.abort(new Error('job cancelled'));
        await new Promise(() => undefined); // never delivers more
      }
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({
        source: slow(),
        sourceSize: input.length,
        compression: 'gzip',
        sink,
        chunkSize: CHUNK,
        signal: controller.signal,
      });

      // Assess
      await expect(run).rejects.toThrow('job cancelled');
      expect(sink.aborted).toBe(true);
    });

    it('does not read at all when the signal is already aborted', async () => {
      // Prepare
      let reads = 0;
      async function* source(): AsyncGenerator<Buffer> {
        reads += 1;
        yield input;
      }
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: source(), sourceSize: input.length, compression: 'none', sink, signal: AbortSignal.abort() });

      // Assess
      await expect(run).rejects.toThrow(/abort/i);
      expect(reads).toBe(0);
      expect(sink.aborted).toBe(true);
    });

    it('rejects when the sink fails, and still aborts it', async () => {
      // Prepare
      let aborted: unknown;
      let writes = 0;
      const sink: PipelineSink = {
        async write() {
          writes += 1;
          if (writes === 2) throw new Error('part upload failed');
        },
        async close() {},
        async abort(reason) {
          aborted = reason;
        },
      };

      // Act
      const run = buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'gzip', sink, chunkSize: CHUNK });

      // Assess
      await expect(run).rejects.toThrow('part upload failed');
      expect(aborted).toEqual(new Error('part upload failed'));
    });

    it('keeps the original error and attaches the failed clean-up as sinkAbortError', async () => {
      // Prepare
      const sink: PipelineSink = {
        async write() {
          throw new Error('write failed');
        },
        async close() {},
        async abort() {
          throw new Error('abort failed');
        },
      };

      // Act
      const error = await buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'none', sink }).catch(
        (e: unknown) => e,
      );

      // Assess
      expect(error).toEqual(new Error('write failed'));
      expect((error as { sinkAbortError?: unknown }).sinkAbortError).toEqual(new Error('abort failed'));
    });

    it('aborts the sink when close fails', async () => {
      // Prepare
      let aborted = false;
      const sink: PipelineSink = {
        async write() {},
        async close() {
          throw new Error('complete failed');
        },
        async abort() {
          aborted = true;
        },
      };

      // Act
      const run = buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'none', sink });

      // Assess
      await expect(run).rejects.toThrow('complete failed');
      expect(aborted).toBe(true);
    });

    it('rejects a source that yields strings', async () => {
      // Prepare
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: Readable.from(['abc'], { objectMode: true }), sourceSize: 3, compression: 'none', sink });

      // Assess
      await expect(run).rejects.toThrow(/string/);
      expect(sink.aborted).toBe(true);
    });

    it.each([
      [{ sourceSize: -1 }, /sourceSize/],
      [{ compression: 'zstd' }, /compression/],
      [{ level: 10 }, /level/],
      [{ chunkSize: 0 }, /chunkSize/],
      [{ maxChunksInFlight: 1 }, /maxChunksInFlight/],
    ])('rejects invalid options %j', async (override, message) => {
      // Prepare
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({ source: pieces(input), sourceSize: input.length, compression: 'gzip', sink, ...(override as object) });

      // Assess
      await expect(run).rejects.toThrow(PipelineOptionsError);
      await expect(run).rejects.toThrow(message);
    });
  });

  describe('progress', () => {
    afterEach(() => jest.useRealTimers());

    it('reports source bytes done at most once per second', async () => {
      // Prepare: a clock that advances 300 ms per source piece
      let now = 1_000_000;
      jest.spyOn(Date, 'now').mockImplementation(() => now);
      const input = generateDiskBuffer(40 * 64 * KiB, 17);
      async function* source(): AsyncGenerator<Buffer> {
        for await (const piece of pieces(input)) {
          now += 300;
          yield piece;
        }
      }
      const calls: [number, number][] = [];

      // Act
      await buildImageFile({
        source: source(),
        sourceSize: input.length,
        compression: 'none',
        sink: createMemorySink(),
        onProgress: (done) => {
          calls.push([now, done]);
        },
      });

      // Assess
      jest.restoreAllMocks();
      expect(calls.length).toBeGreaterThanOrEqual(10);
      for (let i = 1; i < calls.length; i++) expect(calls[i][0] - calls[i - 1][0]).toBeGreaterThanOrEqual(1000);
      expect(calls.map(([, done]) => done)).toEqual([...calls.map(([, done]) => done)].sort((a, b) => a - b));
      expect(calls.at(-1)![1]).toBeLessThanOrEqual(input.length);
    });

    it('fails the build when the progress callback rejects', async () => {
      // Prepare
      let now = 0;
      jest.spyOn(Date, 'now').mockImplementation(() => (now += 600));
      const input = generateDiskBuffer(4 * CHUNK, 19);
      const sink = createMemorySink();

      // Act
      const run = buildImageFile({
        source: pieces(input),
        sourceSize: input.length,
        compression: 'gzip',
        sink,
        chunkSize: CHUNK,
        onProgress: () => Promise.reject(new Error('job was cancelled')),
      });

      // Assess
      await expect(run).rejects.toThrow('job was cancelled');
      expect(sink.aborted).toBe(true);
      jest.restoreAllMocks();
    });
  });
});

describe('buildImageFile with a disk-format output', () => {
  it.each([
    ['qcow2 compressed, none', { format: 'qcow2', compressed: true }, 'none'],
    ['vhd dynamic, gzip', { format: 'vhd', subformat: 'dynamic' }, 'gzip'],
    ['vmdk streamOptimized, none', { format: 'vmdk' }, 'none'],
    ['ova, none', { format: 'ova' }, 'none'],
  ] as const)(
    '%s: the stored file holds the disk, its head in place, digests of the final bytes',
    async (_label, output, compression) => {
      // Prepare
      const disk = generateDiskBuffer(3 * 1024 * 1024 + 512, 5);
      const sink = createMemorySink();

      // Act
      const result = await buildImageFile({
        source: pieces(disk, 70_000),
        sourceSize: disk.length,
        compression,
        output,
        sink,
        readBack: async () => [sink.contents()],
      });

      // Assert
      const stored = sink.contents();
      expect(result).toMatchObject({
        size: stored.length,
        sha1: sha('sha1', stored),
        sha256: sha('sha256', stored),
        sourceBytes: disk.length,
        format: output.format,
        virtualSize: disk.length,
      });
      const file = compression === 'gzip' ? gunzipSync(stored) : stored;
      const reader = await openDisk(output.format, bufferSource(file));
      expect((await collect(reader.stream())).equals(disk)).toBe(true);
    },
    60_000,
  );

  it('refuses a head-patched format without a sink that can write the head', async () => {
    const sink: PipelineSink = { write: async () => undefined, close: async () => undefined, abort: async () => undefined };
    await expect(
      buildImageFile({ source: pieces(Buffer.alloc(1024), 512), sourceSize: 1024, compression: 'none', output: { format: 'qcow2' }, sink }),
    ).rejects.toThrow(PipelineOptionsError);
  });
});
