/**
 * Compressing one chunk into gzip members.
 *
 * Deflate gains nothing on incompressible bytes (compressed or encrypted files, typically a third of
 * a real disk): zlib ends up emitting stored blocks for them anyway, but only after its full match
 * search, which on random bytes is its slowest case (~60 MiB/s at level 6, three times the cost of
 * text). So a chunk is split into runs of 64 KiB blocks, each block classified by a cheap sampled
 * byte histogram; a run of incompressible blocks becomes a level-0 (stored) gzip member, a run of
 * the rest a level-N member. The output is still plain gzip from zlib (members concatenate into one
 * file, RFC 1952 §2.2) and decompresses to exactly the input; only the work spent on bytes that
 * cannot shrink is skipped, and the stored form is even slightly smaller than deflate's.
 */
import * as zlib from 'node:zlib';

const KiB = 1024;
const MiB = 1024 * KiB;
export const CLASSIFY_BLOCK = 64 * KiB;
const SAMPLES = 4;
const SAMPLE_SIZE = 1 * KiB;
/**
 * A block counts as incompressible when the sampled bytes' collision sum Σ count² stays within 10 %
 * of a uniform distribution's (Rényi-2 entropy ≥ 7.86 bits/byte, so Huffman coding could save under
 * 2 %). Uniform random samples land near N²/256 + N with a standard deviation of about N/11, far
 * below the threshold; text, code, zeros or any structure with a period under 1 KiB land far above.
 */
const UNIFORMITY_SLACK = 1.1;

/** Output buffer per zlib thread-pool round trip: large, so a member takes few round trips. */
const ZLIB_OUTPUT_CHUNK = 1 * MiB;
/**
 * zlib's hash table size: 9 (the maximum, 256 KiB) deflates ~12 % faster than the default 8 on disk
 * content for a negligible size change; it is still "level N" deflate and any gunzip reads it.
 */
const ZLIB_MEM_LEVEL = 9;

const histogram = new Uint32Array(256);

/** Whether `buf[start, end)` looks incompressible, from SAMPLES contiguous samples spread over it. */
export function looksIncompressible(buf: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (length < SAMPLES * SAMPLE_SIZE) return false;
  histogram.fill(0);
  const stride = Math.floor((length - SAMPLE_SIZE) / (SAMPLES - 1));
  for (let s = 0; s < SAMPLES; s++) {
    const from = start + s * stride;
    for (let i = from, to = from + SAMPLE_SIZE; i < to; i++) histogram[buf[i]]++;
  }
  const n = SAMPLES * SAMPLE_SIZE;
  let sum = 0;
  for (let b = 0; b < 256; b++) sum += histogram[b] * histogram[b];
  return sum <= ((n * n) / 256) * UNIFORMITY_SLACK + n;
}

export interface Run {
  start: number;
  end: number;
  stored: boolean;
}

/** Splits `buf` into maximal runs of incompressible / other 64 KiB blocks. */
export function planRuns(buf: Uint8Array): Run[] {
  const runs: Run[] = [];
  for (let start = 0; start < buf.length; start += CLASSIFY_BLOCK) {
    const end = Math.min(buf.length, start + CLASSIFY_BLOCK);
    const stored = looksIncompressible(buf, start, end);
    const last = runs[runs.length - 1];
    if (last && last.stored === stored) last.end = end;
    else runs.push({ start, end, stored });
  }
  if (runs.length === 0) runs.push({ start: 0, end: 0, stored: false });
  return runs;
}

export function gzipMember(input: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gzip(input, { level, memLevel: ZLIB_MEM_LEVEL, chunkSize: ZLIB_OUTPUT_CHUNK }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/**
 * Compresses `input` as one or more gzip members on the thread pool. With `storeIncompressible`,
 * runs that look incompressible are stored (level 0); otherwise the whole input is one member.
 */
export async function compressChunk(input: Buffer, level: number, storeIncompressible: boolean): Promise<Buffer> {
  if (!storeIncompressible || level === 0) return gzipMember(input, level);
  const runs = planRuns(input);
  if (runs.length === 1) return gzipMember(input, runs[0].stored ? 0 : level);
  const outs = await Promise.all(runs.map((r) => gzipMember(input.subarray(r.start, r.end), r.stored ? 0 : level)));
  return Buffer.concat(outs);
}
