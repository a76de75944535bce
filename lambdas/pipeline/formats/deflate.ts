/**
 * Deflating many small independent inputs (qcow2 clusters, vmdk grains: 64 KiB each) on libuv's
 * thread pool with a few persistent zlib streams.
 *
 * `zlib.deflateRaw(buf, cb)` creates a zlib stream per call: deflateInit allocates and clears about
 * 300 KiB of state (window, hash chains, pending buffer) and frees it again, and on 64 KiB inputs that
 * set-up costs about as much CPU as the deflate itself (measured: half of the CPU of a compressed
 * qcow2 conversion). Here each stream is created once, writes with Z_FINISH (its `flush` option) so
 * one write is one complete, independent deflate stream (one thread-pool round trip), and is reset
 * (deflateReset: clears the hash heads only) before its next input. The output of each input is
 * exactly what a fresh stream would produce.
 */
import * as zlib from 'node:zlib';

export type DeflateFormat = 'raw' | 'zlib';
type Stream = zlib.Deflate | zlib.DeflateRaw;

/** Larger than any single input's output (stored blocks add 5 bytes per 64 KiB), so one read takes it all. */
const READABLE_LIMIT = 1024 * 1024;

export class DeflatePool {
  private readonly idle: Stream[] = [];
  private readonly waiting: ((s: Stream) => void)[] = [];
  private readonly all = new Set<Stream>();
  private closed = false;

  constructor(
    private readonly format: DeflateFormat,
    private readonly level: number,
    /** Streams (inputs deflated at once). */
    private readonly size: number,
  ) {}

  /** The input as one complete deflate stream: raw deflate, or zlib-wrapped (RFC 1950). */
  async deflate(input: Buffer): Promise<Buffer> {
    const stream = await this.acquire();
    let out: Buffer;
    try {
      out = await new Promise<Buffer>((resolve, reject) => {
        stream.write(input, (err) => {
          if (err) return reject(err);
          // Z_FINISH wrote the whole stream before the write completed: it is all in the buffer
          const chunk = stream.read() as Buffer | null;
          resolve(chunk ?? Buffer.alloc(0));
        });
      });
      stream.reset();
    } catch (err) {
      this.all.delete(stream);
      stream.destroy();
      // a caller waiting for a stream gets a new one in its place
      const next = this.waiting.shift();
      if (next) void this.acquire().then(next, () => undefined);
      throw err;
    }
    this.release(stream);
    return out;
  }

  /** Frees every stream; pending deflate() calls should have settled. */
  close(): void {
    this.closed = true;
    for (const s of this.all) s.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private acquire(): Promise<Stream> {
    if (this.closed) return Promise.reject(new Error('deflate pool closed'));
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    if (this.all.size < this.size) {
      const opts: zlib.ZlibOptions & { readableHighWaterMark: number } = {
        level: this.level,
        flush: zlib.constants.Z_FINISH,
        chunkSize: 64 * 1024,
        readableHighWaterMark: READABLE_LIMIT,
      };
      const created = this.format === 'raw' ? zlib.createDeflateRaw(opts) : zlib.createDeflate(opts);
      created.on('error', () => undefined); // reported through the write callback
      this.all.add(created);
      return Promise.resolve(created);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(s: Stream): void {
    if (this.closed) return void s.destroy();
    const next = this.waiting.shift();
    if (next) next(s);
    else this.idle.push(s);
  }
}
