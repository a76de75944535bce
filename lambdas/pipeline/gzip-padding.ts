/**
 * Padding for a gzip file: empty gzip members whose header carries an FEXTRA field (RFC 1952 §2.3.1.1)
 * of filler bytes. Each decompresses to nothing, so appending them to a gzip stream keeps it one valid
 * stream with the same decompressed bytes; gzip, zlib, Python's gzip and Go's compress/gzip read them
 * (Go caps FCOMMENT/FNAME at 511 bytes but reads any FEXTRA, which is why this is not a long comment).
 *
 * A chunked build needs it: every part of a multipart upload but the last must be at least 5 MiB,
 * and a range of zeros compresses far below that (see lambdas/workflow/tasks/build-range.ts).
 */

/** Bytes of a member with an empty extra field: header 10 + XLEN 2 + empty deflate block 2 + CRC32/ISIZE 8. */
const MEMBER_OVERHEAD = 22;
const MAX_XLEN = 0xffff;
const SUBFIELD_HEADER = 4;
export const MAX_PADDING_MEMBER = MEMBER_OVERHEAD + MAX_XLEN;

/** One empty member of exactly `size` bytes (22, or 26 … 65,557). */
function paddingMember(size: number): Buffer {
  const xlen = size - MEMBER_OVERHEAD;
  if (!(xlen === 0 || (xlen >= SUBFIELD_HEADER && xlen <= MAX_XLEN))) throw new RangeError(`no padding member of ${size} bytes`);
  const m = Buffer.alloc(size);
  m.set([0x1f, 0x8b, 0x08, 0x04 /* FEXTRA */, 0, 0, 0, 0 /* MTIME */, 0 /* XFL */, 0xff /* OS unknown */]);
  m.writeUInt16LE(xlen, 10);
  if (xlen > 0) {
    m.set([0x50, 0x44], 12); // subfield id "PD" (padding)
    m.writeUInt16LE(xlen - SUBFIELD_HEADER, 14);
  }
  const body = 12 + xlen;
  m.set([0x03, 0x00], body); // a final, fixed-Huffman block holding only end-of-block: no output
  // CRC32 and ISIZE of the empty output: 8 zero bytes, already there
  return m;
}

/**
 * Empty gzip members totalling at least `bytes` (exactly `bytes` when `bytes` ≥ 26; at least 22 for
 * any positive request), or an empty buffer for 0.
 */
export function gzipPadding(bytes: number): Buffer {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`invalid padding size ${bytes}`);
  if (bytes === 0) return Buffer.alloc(0);
  const total =
    bytes < MEMBER_OVERHEAD
      ? MEMBER_OVERHEAD
      : bytes < MEMBER_OVERHEAD + SUBFIELD_HEADER && bytes > MEMBER_OVERHEAD
        ? MEMBER_OVERHEAD + SUBFIELD_HEADER
        : bytes;
  const count = Math.ceil(total / MAX_PADDING_MEMBER);
  const members: Buffer[] = [];
  let left = total;
  for (let i = count; i > 0; i--) {
    let size = Math.ceil(left / i);
    // never leave a remainder that no member can take (1–3 bytes over an empty extra field)
    const rest = left - size;
    if (i > 1 && rest - MEMBER_OVERHEAD * (i - 1) < 0) size = left - MEMBER_OVERHEAD * (i - 1);
    if (size > MEMBER_OVERHEAD && size < MEMBER_OVERHEAD + SUBFIELD_HEADER) size = MEMBER_OVERHEAD + SUBFIELD_HEADER;
    members.push(paddingMember(size));
    left -= size;
  }
  return Buffer.concat(members);
}
