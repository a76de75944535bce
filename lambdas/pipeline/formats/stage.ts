/**
 * The shape every disk-format writer and reader shares, and the streaming helpers they are built
 * from: cutting the raw disk into fixed-size blocks (clusters, grains, VHD blocks) with zero
 * detection, and an ordered, bounded-concurrency map for work that runs on libuv's thread pool
 * (deflate/inflate with zlib's async API, as members.ts does for gzip members).
 *
 * Writer contract (see docs/decisions/disk-formats.md):
 * - `write(raw)` consumes the raw disk (exactly `virtualSize` bytes) and yields the file's bytes in
 *   order; memory is bounded (a few blocks per core plus one table block) whatever the disk size.
 * - Formats whose tables sit at the front of the file and depend on which blocks were all zeros or
 *   how small they compressed (qcow2, vmdk monolithicSparse, vhd dynamic, ova's tar header of the
 *   vmdk) yield `headSize` placeholder bytes first; once the body has ended, `head()` returns the
 *   real bytes of [0, headSize) and the sink puts them in place (PipelineSink.writeHead).
 *   `headSize` is fixed by the virtual size alone, before any data is read.
 */
import { availableParallelism } from 'node:os';
import { SourceSizeMismatchError } from '../errors';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const SECTOR = 512;

/** A raw disk as bytes in order (S3 GetObject Body, fs stream, a reader's output). */
export type RawSource = AsyncIterable<Uint8Array>;

export interface DiskWriter {
  /** The format written (index.ts's name). */
  readonly format: string;
  /** The disk size the file declares: the source size rounded up to whole 512-byte sectors. */
  readonly virtualSize: number;
  /** Bytes at the start of the output that head() replaces after the body ended; 0 = none. */
  readonly headSize: number;
  /** Consumes the raw disk and yields the file's bytes; call once. */
  write(raw: RawSource): AsyncIterable<Buffer>;
  /** After write() is exhausted: the final bytes of [0, headSize). Throws before. */
  head(): Buffer;
  /**
   * Buffer-reuse bound: when the writer asks its source for the next piece, it still holds views of
   * at most this many bytes before the end of what it has pulled (an open run, the block being
   * filled, blocks being deflated), and nothing older. What it yielded is not counted: its consumer
   * must be done with an output before asking for the next (build.ts writes each one first; the
   * S3 sink copies). So a source may overwrite a piece once the writer has asked for a piece that
   * starts `retainBytes` or more past that piece's end (sequentialReads recycles its buffers so).
   */
  readonly retainBytes: number;
}

/** Random reads of a stored file (a local file, a buffer, an S3 object by ranged GETs). */
export interface RandomAccessSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the range must lie inside the file). */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Optional: exactly `length` bytes at `offset` into `into[0, length)`. A source that has it can be
   * read sequentially into recycled buffers (sequentialReads) instead of a fresh buffer per read.
   */
  readInto?(into: Buffer, offset: number, length: number): Promise<void>;
}

export interface DiskReader {
  readonly format: string;
  /** Bytes of the disk the file describes. */
  readonly virtualSize: number;
  /**
   * The raw disk, `virtualSize` bytes in order; call once. With `retainBytes` (the consumer's
   * buffer-reuse bound, DiskWriter.retainBytes; 0 for a consumer that copies each piece before asking
   * for the next) a reader may hand out recycled buffers; without it every piece may be kept.
   */
  stream(opts?: { retainBytes?: number }): AsyncIterable<Buffer>;
  /**
   * Bytes [start, end) of the raw disk in order (0 ≤ start ≤ end ≤ virtualSize), reading only the
   * tables (L2 tables, BAT entries, grain tables) and blocks that cover them: what one range of an
   * expansion in ranges reads (lambdas/workflow/expansion.ts). Each piece may be kept (no recycled
   * buffers); may be called any number of times, also concurrently. A table or block that lies
   * outside the file is a DiskFormatError, a range outside the disk a RangeError.
   */
  streamRange(start: number, end: number): AsyncIterable<Buffer>;
}

/** A file is not a valid image of the format it claims (or uses a feature we do not read). */
export class DiskFormatError extends Error {
  override readonly name = 'DiskFormatError';
}

export const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Throws a RangeError unless [start, end) is a range of a disk of `virtualSize` bytes. */
export function checkDiskRange(start: number, end: number, virtualSize: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > virtualSize)
    throw new RangeError(`[${start}, ${end}) is not a range of a disk of ${virtualSize} bytes`);
}

/**
 * The bytes [skip, skip + length) of a stream of pieces: a range reader's whole blocks (clusters,
 * grains, VHD blocks) trimmed to the range. Stops pulling once `length` bytes are out; a stream that
 * ends before is a DiskFormatError.
 */
export async function* trimPieces(pieces: AsyncIterable<Buffer>, skip: number, length: number): AsyncGenerator<Buffer> {
  let left = length;
  if (left <= 0) return;
  for await (const piece of pieces) {
    let b = piece;
    if (skip > 0) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      b = b.subarray(skip);
      skip = 0;
    }
    if (b.length > left) b = b.subarray(0, left);
    left -= b.length;
    if (b.length > 0) yield b;
    if (left === 0) return;
  }
  throw new DiskFormatError(`the disk ended ${left} bytes before the end of the range`);
}

/** The first `size` bytes of a source, as a source (a fixed vhd's disk, a range's end). */
export function prefixSource(source: RandomAccessSource, size: number): RandomAccessSource {
  const check = (offset: number, length: number): void => {
    if (offset < 0 || length < 0 || offset + length > size)
      throw new DiskFormatError(`read of ${length} bytes at ${offset} is past the end of the disk (${size} bytes)`);
  };
  const readInto = source.readInto?.bind(source);
  return {
    size,
    read: async (offset, length) => {
      check(offset, length);
      return source.read(offset, length);
    },
    ...(readInto && {
      readInto: async (into: Buffer, offset: number, length: number) => {
        check(offset, length);
        return readInto(into, offset, length);
      },
    }),
  };
}

/** Parallel deflate/inflate tasks: one per core, bounded by libuv's pool. */
export function defaultConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE);
  return Math.max(1, Math.min(availableParallelism(), Number.isInteger(pool) && pool > 0 ? pool : 4));
}

export function toBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  throw new TypeError(`a disk source must yield bytes, got ${typeof piece}`);
}

/** Shared all-zero buffers, never written to (handed out as reader output and zero padding). */
const zeroCache = new Map<number, Buffer>();
export function zeros(length: number): Buffer {
  if (length <= 4 * MiB) {
    let z = zeroCache.get(length);
    if (!z) {
      z = Buffer.alloc(length);
      if (zeroCache.size < 32) zeroCache.set(length, z);
    }
    return z;
  }
  return Buffer.alloc(length);
}

/** One shared zero buffer the zero check compares against (memcmp, no allocation per call). */
const ZERO_PROBE = Buffer.alloc(1 * MiB);

/**
 * Whether `buf` is all zero bytes: memcmp against a shared zero buffer, which stops at the first
 * non-zero byte (data blocks cost a few bytes, zero blocks one pass at memory speed). The first and
 * last bytes are looked at first, which settles most data blocks without a call into C++.
 */
export function isZero(buf: Uint8Array): boolean {
  const n = buf.length;
  if (n === 0) return true;
  if (buf[0] !== 0 || buf[n - 1] !== 0) return false;
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off < n; off += ZERO_PROBE.length) {
    const len = Math.min(ZERO_PROBE.length, n - off);
    if (b.compare(ZERO_PROBE, 0, len, off, off + len) !== 0) return false;
  }
  return true;
}

/**
 * A run of consecutive blocks that are all zero or all data (blockRuns). Its bytes are views into
 * the source's pieces (no copy), contiguous views merged: a run read from 1 MiB pieces is a few
 * buffers, whatever the block size.
 */
export interface BlockRun {
  /** Block number of the run's first block. */
  first: number;
  /** Blocks in the run (≥ 1). */
  count: number;
  zero: boolean;
  /** count × blockSize bytes in order (the disk's last block zero-padded); empty for a zero run. */
  pieces: Buffer[];
}

export interface BlockRunOptions {
  /** Runs never cross a multiple of this many blocks (a format's table span: an L2 table, a grain table). */
  alignBlocks?: number;
  /** Largest data run in bytes (memory held by one run), default 4 MiB; at least one block. */
  maxRunBytes?: number;
}

const runBlocksMax = (blockSize: number, opts: BlockRunOptions): number =>
  Math.max(1, Math.floor((opts.maxRunBytes ?? 4 * MiB) / blockSize));

/** The source bytes blockRuns may still reference when it asks for the next piece (DiskWriter.retainBytes). */
export const blockRunsRetain = (blockSize: number, opts: BlockRunOptions = {}): number => (runBlocksMax(blockSize, opts) + 1) * blockSize;

/**
 * Cuts the raw stream into blocks of `blockSize` and yields them as runs of zero / data blocks,
 * checking that the stream delivers exactly `size` bytes. This is the uncompressed writers' hot
 * path: per block it costs one zero check and no allocation, copy or await; the writers then emit a
 * data run as its pieces and fill their table entries in a loop. Pieces are kept, not copied: the
 * source must not reuse a buffer it has yielded (build.ts's sources and fs streams do not).
 */
export async function* blockRuns(raw: RawSource, size: number, blockSize: number, opts: BlockRunOptions = {}): AsyncGenerator<BlockRun> {
  const align = opts.alignBlocks ?? Infinity;
  const maxBlocks = runBlocksMax(blockSize, opts);
  const ready: BlockRun[] = [];
  let run: BlockRun | undefined;
  let index = 0;
  let read = 0;
  // the block being filled
  let parts: Buffer[] = [];
  let filled = 0;
  let zero = true;

  const append = (into: Buffer[], seg: Buffer): void => {
    const last = into[into.length - 1];
    if (last && last.buffer === seg.buffer && last.byteOffset + last.length === seg.byteOffset) {
      into[into.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + seg.length);
    } else into.push(seg);
  };
  const endBlock = (): void => {
    if (run && (run.zero !== zero || index % align === 0 || (!zero && run.count >= maxBlocks))) {
      ready.push(run);
      run = undefined;
    }
    if (!run) run = { first: index, count: 0, zero, pieces: [] };
    run.count++;
    if (!zero) for (const p of parts) append(run.pieces, p);
    index++;
    parts = [];
    filled = 0;
    zero = true;
  };

  for await (const piece of raw) {
    const buf = toBuffer(piece);
    read += buf.length;
    if (read > size) throw new SourceSizeMismatchError(size, read, false);
    let offset = 0;
    while (offset < buf.length) {
      const n = Math.min(blockSize - filled, buf.length - offset);
      const seg = buf.subarray(offset, offset + n);
      if (zero && !isZero(seg)) zero = false;
      parts.push(seg);
      filled += n;
      offset += n;
      if (filled === blockSize) endBlock();
    }
    if (ready.length > 0) yield* ready.splice(0);
  }
  if (read !== size) throw new SourceSizeMismatchError(size, read, true);
  if (filled > 0) {
    parts.push(zeros(blockSize - filled));
    endBlock();
  }
  if (run) ready.push(run);
  yield* ready.splice(0);
}

export interface Block {
  /** Block number from the start of the disk. */
  index: number;
  /** blockSize bytes; the last block of a disk whose size is not a multiple is zero-padded. */
  data: Buffer;
  /** Bytes of `data` that belong to the disk (< blockSize only for the last block). */
  length: number;
  zero: boolean;
}

const BLOCKS_BATCH_BYTES = 4 * MiB;

/**
 * Cuts the raw stream into blocks of `blockSize`, checking that it delivers exactly `size` bytes.
 * Blocks are sliced out of batch buffers of up to `batchBytes` (no copy per block); a batch is never
 * reused. Whole blocks are views of the source's pieces: a consumer that keeps up to `n` blocks
 * (e.g. in flight in orderedMap) may still hold one of them when blocks() has read a whole batch
 * further (blocks cut from a batch come out once it is full), so it references at most
 * (n + 1) × blockSize + batchBytes bytes of the source when blocks() asks for a piece (blocksRetain).
 */
export async function* blocks(raw: RawSource, size: number, blockSize: number, batchBytes = BLOCKS_BATCH_BYTES): AsyncGenerator<Block> {
  const batchSize = Math.max(blockSize, Math.floor(batchBytes / blockSize) * blockSize);
  let batch = Buffer.allocUnsafe(Math.min(batchSize, roundUp(Math.max(size, 1), blockSize)));
  let filled = 0;
  let consumed = 0; // bytes of batches already cut
  let index = 0;
  let read = 0;
  const cut = function* (final: boolean): Generator<Block> {
    let off = 0;
    while (filled - off >= blockSize || (final && filled - off > 0)) {
      const length = Math.min(blockSize, filled - off);
      let data = batch.subarray(off, off + blockSize);
      if (length < blockSize) {
        data = Buffer.alloc(blockSize);
        batch.copy(data, 0, off, off + length);
      }
      yield { index: index++, data, length, zero: isZero(data) };
      off += blockSize;
    }
  };
  for await (const piece of raw) {
    const buf = toBuffer(piece);
    read += buf.length;
    if (read > size) throw new SourceSizeMismatchError(size, read, false);
    let offset = 0;
    // whole blocks straight out of the piece when nothing is pending (no copy; the source does not
    // reuse a buffer once yielded, see build.ts)
    if (filled === 0 && buf.length >= blockSize) {
      const whole = Math.floor(buf.length / blockSize) * blockSize;
      for (; offset < whole; offset += blockSize) {
        const data = buf.subarray(offset, offset + blockSize);
        yield { index: index++, data, length: blockSize, zero: isZero(data) };
      }
      consumed += whole;
    }
    while (offset < buf.length) {
      const n = buf.copy(batch, filled, offset);
      offset += n;
      filled += n;
      if (filled === batch.length) {
        yield* cut(false);
        consumed += filled;
        filled = 0;
        batch = Buffer.allocUnsafe(Math.min(batchSize, roundUp(Math.max(size - consumed, 1), blockSize)));
      }
    }
  }
  if (read !== size) throw new SourceSizeMismatchError(size, read, true);
  yield* cut(true);
}

/** DiskWriter.retainBytes of a writer that keeps up to `inFlight` blocks from blocks() (orderedMap's window). */
export const blocksRetain = (blockSize: number, inFlight: number, batchBytes = BLOCKS_BATCH_BYTES): number =>
  (inFlight + 1) * blockSize + Math.max(blockSize, Math.floor(batchBytes / blockSize) * blockSize);

/**
 * Maps `items` through the async `fn` with at most `concurrency` calls in flight, yielding results
 * in input order. The source is not pulled while the window is full (backpressure), so memory is
 * bounded by `concurrency` items and results.
 */
export async function* orderedMap<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  fn: (item: T) => Promise<R>,
  concurrency: number,
): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  try {
    for await (const item of items as AsyncIterable<T>) {
      const p = fn(item);
      p.catch(() => undefined);
      window.push(p);
      if (window.length >= concurrency) yield await window.shift()!;
    }
    while (window.length > 0) yield await window.shift()!;
  } finally {
    // settle what is still running so nothing outlives a failed or abandoned stage
    await Promise.allSettled(window);
  }
}

/** Collects a stage's output (tests, small files). */
export async function collect(out: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of out) parts.push(b);
  return Buffer.concat(parts);
}

export interface SequentialReadOptions {
  /** First byte to read, default 0. */
  from?: number;
  /** Bytes per read, default 2 MiB. */
  pieceSize?: number;
  /** Reads in flight, default 4. */
  ahead?: number;
  /**
   * The consumer's buffer-reuse bound (DiskWriter.retainBytes). Given, and if the source has
   * `readInto`, pieces are read into a small pool of recycled buffers; otherwise each piece is a fresh
   * buffer the consumer may keep.
   */
  retainBytes?: number;
}

/**
 * Reads `source` from `from` to its end in order, `ahead` reads in flight. With a buffer-reuse bound
 * it reads into recycled buffers: a piece handed out is reused for a later read once the consumer
 * has asked for a piece starting `retainBytes` or more past its end. The pool then holds at most
 * `ahead + ceil(retainBytes / pieceSize) + 1` pieces whatever the size, faulted into memory once:
 * a fresh buffer per read costs the kernel a page fault per 4 KiB on first touch, several times
 * the cost of the copy itself (docs/decisions/disk-formats.md, Speed).
 */
export async function* sequentialReads(source: RandomAccessSource, opts: SequentialReadOptions = {}): AsyncGenerator<Buffer> {
  const size = source.size;
  const pieceSize = Math.max(1, opts.pieceSize ?? 2 * MiB);
  const ahead = Math.max(1, opts.ahead ?? 4);
  const retain = opts.retainBytes;
  const readInto = retain !== undefined ? source.readInto?.bind(source) : undefined;
  type Piece = { buf: Buffer; view: Buffer; end: number };
  const free: Buffer[] = [];
  const handedOut: Piece[] = [];
  const reads: Promise<Piece>[] = [];
  let next = opts.from ?? 0;
  let position = next; // end of the last piece handed out
  const issue = (): void => {
    const at = next;
    const length = Math.min(pieceSize, size - at);
    next += length;
    let p: Promise<Piece>;
    if (readInto) {
      const buf = free.pop() ?? Buffer.allocUnsafeSlow(pieceSize);
      p = readInto(buf, at, length).then(() => ({ buf, view: buf.subarray(0, length), end: at + length }));
    } else p = source.read(at, length).then((view) => ({ buf: view, view, end: at + length }));
    p.catch(() => undefined);
    reads.push(p);
  };
  try {
    while (next < size && reads.length < ahead) issue();
    while (reads.length > 0) {
      const piece = await reads.shift()!;
      if (readInto) {
        // the consumer asked for this piece: it holds no view more than `retain` bytes before it
        while (handedOut.length > 0 && handedOut[0].end + retain! <= position) free.push(handedOut.shift()!.buf);
        handedOut.push(piece);
      }
      if (next < size) issue();
      position = piece.end;
      yield piece.view;
    }
  } finally {
    // nothing may still write into a buffer once the consumer stopped
    await Promise.allSettled(reads);
  }
}

/** A RandomAccessSource over an open file (benchmarks, tests, local tools), with readInto. */
export function fileSource(
  fh: { read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> },
  size: number,
): RandomAccessSource {
  const readInto = async (into: Buffer, offset: number, length: number): Promise<void> => {
    if (offset < 0 || length < 0 || offset + length > size)
      throw new DiskFormatError(`read of ${length} bytes at ${offset} is past the end of the file (${size} bytes)`);
    for (let done = 0; done < length; ) {
      const { bytesRead } = await fh.read(into, done, length - done, offset + done);
      if (bytesRead === 0) throw new DiskFormatError(`the file ended at ${offset + done}, before ${offset + length}`);
      done += bytesRead;
    }
  };
  return {
    size,
    readInto,
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      await readInto(buf, offset, length);
      return buf;
    },
  };
}

/** A RandomAccessSource over a buffer. */
export function bufferSource(buf: Buffer): RandomAccessSource {
  return {
    size: buf.length,
    async read(offset, length) {
      if (offset < 0 || offset + length > buf.length)
        throw new DiskFormatError(`read of ${length} bytes at ${offset} is past the end of the file (${buf.length} bytes)`);
      return buf.subarray(offset, offset + length);
    },
  };
}

/**
 * Serves small reads from a few cached, aligned windows of the underlying source, fetched once each
 * (in-flight fetches shared): readers walk their tables and data mostly forward, so a stream of
 * small reads becomes one ranged GET per `windowSize`.
 */
export function cachedSource(source: RandomAccessSource, windowSize = 8 * MiB, windows = 2 * defaultConcurrency() + 2): RandomAccessSource {
  const cache = new Map<number, Promise<Buffer>>();
  const fetch = (w: number): Promise<Buffer> => {
    let p = cache.get(w);
    if (p) {
      cache.delete(w); // re-insert: most recently used last
      cache.set(w, p);
      return p;
    }
    const start = w * windowSize;
    p = source.read(start, Math.min(windowSize, source.size - start));
    p.catch(() => cache.delete(w));
    cache.set(w, p);
    while (cache.size > windows) cache.delete(cache.keys().next().value!);
    return p;
  };
  return {
    size: source.size,
    async read(offset, length) {
      if (offset < 0 || offset + length > source.size)
        throw new DiskFormatError(`read of ${length} bytes at ${offset} is past the end of the file (${source.size} bytes)`);
      if (length >= windowSize) return source.read(offset, length);
      const first = Math.floor(offset / windowSize);
      const last = Math.floor((offset + length - 1) / windowSize);
      if (length === 0) return Buffer.alloc(0);
      if (first === last) {
        const w = await fetch(first);
        return w.subarray(offset - first * windowSize, offset - first * windowSize + length);
      }
      const parts: Buffer[] = [];
      for (let w = first; w <= last; w++) {
        const buf = await fetch(w);
        const from = w === first ? offset - w * windowSize : 0;
        const to = w === last ? offset + length - w * windowSize : buf.length;
        parts.push(buf.subarray(from, to));
      }
      return Buffer.concat(parts);
    },
  };
}

/** Long zero runs handed out in ≤ 4 MiB pieces (shared zero buffers): readers' output stays bounded. */
export async function* splitZeros<P extends object>(pieces: AsyncIterable<P | { zero: number }>): AsyncGenerator<P | { zero: number }> {
  for await (const p of pieces) {
    if (!('zero' in p)) {
      yield p;
      continue;
    }
    for (let left = (p as { zero: number }).zero; left > 0; left -= 4 * MiB) yield { zero: Math.min(left, 4 * MiB) };
  }
}
