/**
 * Deterministic "realistic" machine-disk content: a sequence of 4 KiB-aligned extents of zeros
 * (unallocated space), log-like text and random bytes (compressed or encrypted files), in roughly
 * equal thirds, like the 1 GiB reference file of docs/local-emulation.md §7 (about 37 % after
 * gzip -6). The bytes depend only on the seed: a smaller disk is a prefix of a larger one with the
 * same seed, and the piece size of the stream does not change the bytes.
 *
 * Used by the pipeline tests and benchmark, the local stack's seed data and integration tests.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const MiB = 1024 * 1024;

export interface DiskContentOptions {
  /** Size of each yielded Buffer (the last one may be shorter). Default 1 MiB. */
  pieceSize?: number;
}

const BLOCK = 4096;
const MAX_EXTENT_BLOCKS = 256; // extents of 4 KiB .. 1 MiB
const CORPUS_SIZE = 4 * MiB;

type ExtentKind = 'zero' | 'text' | 'random';

/** sfc32: small, fast, deterministic 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162 ^ Math.imul(seed, 0xc2b2ae35);
  let d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[rnd() % items.length];

/** A few MiB of syslog-like lines with small vocabularies and rising timestamps. */
function buildTextCorpus(seed: number): Buffer {
  const rnd = prng(seed ^ 0x5eed7e47);
  const hosts = ['web-01', 'web-02', 'db-01', 'cache-03', 'worker-07'];
  const users = ['root', 'deploy', 'alice', 'bob', 'backup', 'nobody'];
  const services = ['sshd', 'systemd', 'kernel', 'nginx', 'cron', 'postgres', 'dockerd'];
  const paths = ['/var/lib/app/data', '/etc/nginx/nginx.conf', '/home/deploy/releases', '/tmp/cache', '/usr/lib/x86_64-linux-gnu'];
  const verbs = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
  const urls = ['/api/v1/images', '/api/v1/machines', '/healthz', '/static/app.js', '/login', '/api/v1/jobs'];
  const codes = [200, 200, 200, 201, 204, 304, 404, 500];
  const ip = (): string => `10.0.${rnd() % 4}.${rnd() % 64}`;
  let t = Date.UTC(2024, 4, 17, 6, 0, 0) + (seed % 1000) * 1000;
  const lines: string[] = [];
  let length = 0;
  while (length < CORPUS_SIZE) {
    t += rnd() % 2500;
    const ts = new Date(t).toISOString();
    const host = pick(rnd, hosts);
    const pid = 1000 + (rnd() % 200);
    let line: string;
    switch (rnd() % 8) {
      case 0:
        line = `${ts} ${host} sshd[${pid}]: Accepted publickey for ${pick(rnd, users)} from ${ip()} port ${30000 + (rnd() % 30000)} ssh2`;
        break;
      case 1:
        line = `${ts} ${host} systemd[1]: Started Session ${rnd() % 5000} of user ${pick(rnd, users)}.`;
        break;
      case 2:
        line = `${ts} ${host} kernel: [${(rnd() % 900000) / 100}] EXT4-fs (vda1): re-mounted. Opts: errors=remount-ro`;
        break;
      case 3:
        line = `${ip()} - - [${ts}] "${pick(rnd, verbs)} ${pick(rnd, urls)}?page=${rnd() % 20} HTTP/1.1" ${pick(rnd, codes)} ${rnd() % 40000} "-" "Mozilla/5.0 (X11; Linux x86_64)"`;
        break;
      case 4:
        line = `${ts} ${host} CRON[${pid}]: (${pick(rnd, users)}) CMD (run-parts /etc/cron.hourly)`;
        break;
      case 5:
        line = `${ts} ${host} postgres[${pid}]: LOG:  duration: ${(rnd() % 100000) / 1000} ms  statement: SELECT * FROM images WHERE account_id = $1 LIMIT ${pick(rnd, [10, 100, 1000])}`;
        break;
      case 6:
        line = `${ts} ${host} dockerd[${pid}]: level=info msg="ignoring event" container=${(rnd() >>> 0).toString(16)}${(rnd() >>> 0).toString(16)} module=libcontainerd`;
        break;
      default:
        line = `${ts} ${host} ${pick(rnd, services)}[${pid}]: open ${pick(rnd, paths)}/${rnd() % 100}: permission denied (uid=${rnd() % 1000})`;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

/** Synchronous core: hands out the disk bytes in order, `take(n)` at a time. */
export class DiskContentGenerator {
  private readonly rnd: () => number;
  private readonly corpus: Buffer;
  private readonly keystream: ReturnType<typeof createCipheriv>;
  private readonly zeros = Buffer.alloc(MAX_EXTENT_BLOCKS * BLOCK);
  private kind: ExtentKind = 'zero';
  private extentLeft = 0;
  private textOffset = 0;
  private produced = 0;

  constructor(
    readonly size: number,
    readonly seed: number,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid disk size ${size}`);
    this.rnd = prng(seed);
    this.corpus = buildTextCorpus(seed);
    const key = createHash('sha256').update(`disk-content:${seed}`).digest();
    this.keystream = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  get remaining(): number {
    return this.size - this.produced;
  }

  /** The next `min(n, remaining)` bytes, in a fresh Buffer. */
  take(n: number): Buffer {
    const length = Math.min(n, this.remaining);
    const out = Buffer.allocUnsafe(length);
    let pos = 0;
    while (pos < length) {
      if (this.extentLeft === 0) this.nextExtent();
      const len = Math.min(this.extentLeft, length - pos);
      switch (this.kind) {
        case 'zero':
          out.fill(0, pos, pos + len);
          break;
        case 'random':
          this.keystream.update(this.zeros.subarray(0, len)).copy(out, pos);
          break;
        case 'text':
          this.corpus.copy(out, pos, this.textOffset, this.textOffset + len);
          this.textOffset += len;
          break;
      }
      pos += len;
      this.extentLeft -= len;
    }
    this.produced += length;
    return out;
  }

  private nextExtent(): void {
    const r = this.rnd();
    this.kind = (['zero', 'text', 'random'] as const)[r % 3];
    this.extentLeft = (1 + ((r >>> 8) % MAX_EXTENT_BLOCKS)) * BLOCK;
    if (this.kind === 'text') {
      // a run of consecutive corpus lines starting at a random line
      let start = this.rnd() % (this.corpus.length - this.extentLeft);
      const nl = this.corpus.indexOf(10, start);
      start = nl >= 0 && nl + 1 + this.extentLeft <= this.corpus.length ? nl + 1 : start;
      this.textOffset = start;
    }
  }
}

/** The disk as an async iterable of Buffers of `pieceSize` bytes (fresh buffers, safe to keep). */
export async function* generateDisk(size: number, seed: number, options: DiskContentOptions = {}): AsyncGenerator<Buffer> {
  const pieceSize = options.pieceSize ?? MiB;
  const gen = new DiskContentGenerator(size, seed);
  while (gen.remaining > 0) yield gen.take(pieceSize);
}

/** The disk as a Node Readable stream. */
export function diskReadable(size: number, seed: number, options: DiskContentOptions = {}): Readable {
  return Readable.from(generateDisk(size, seed, options), { objectMode: false, highWaterMark: options.pieceSize ?? MiB });
}

/** The whole disk in one Buffer (small sizes only). */
export function generateDiskBuffer(size: number, seed: number): Buffer {
  return new DiskContentGenerator(size, seed).take(size);
}

/** Writes the disk to a file and returns its digests. */
export async function writeDiskFile(path: string, size: number, seed: number): Promise<{ size: number; sha1: string; sha256: string }> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const piece of generateDisk(size, seed, { pieceSize: 4 * MiB })) {
      sha1.update(piece);
      sha256.update(piece);
      yield piece;
    }
  }
  await pipeline(Readable.from(hashed()), createWriteStream(path));
  return { size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
}
