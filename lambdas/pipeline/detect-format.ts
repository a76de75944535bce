/**
 * Disk image format detection from the bytes, as `qemu-img info` does it (magic numbers, then the
 * header field that holds the virtual disk size):
 *
 * | format | where the magic is                                   | virtual size                          |
 * |--------|------------------------------------------------------|---------------------------------------|
 * | qcow2  | "QFI\xfb" at 0 (version 2 or 3 at 4)                  | u64 BE at 24 (bytes)                  |
 * | vmdk   | "KDMV" at 0 (hosted sparse extent)                    | u64 LE at 12 (sectors of 512 bytes)   |
 * | vmdk   | "# Disk DescriptorFile" at 0 (text descriptor)        | sum of the extent lines' sectors      |
 * | vhd    | "conectix" in the last 512 bytes (fixed) or at 0 (the | u64 BE "current size" at 48 of the    |
 * |        | dynamic/differencing disk's copy of the footer)       | footer                                |
 * | iso    | "CD001" at 0x8001 (ISO 9660 primary volume descriptor)| the byte size                         |
 * | raw    | none of the above                                     | the byte size                         |
 *
 * Containers and compressed files that are recognisably *not* a bare disk (gzip, xz, bzip2, zip,
 * zstd, tar/OVA, VHDX, VDI) are refused with UnsupportedFormatError rather than taken for raw,
 * as is a header that names a format but is inconsistent (truncated, impossible size).
 * Pure: it reads only the head and tail buffers it is given (PrepareSource fetches them with
 * two ranged GETs).
 */
import type { DiskFormat } from '../core/image';

/** How many leading bytes detection needs: past the ISO 9660 volume descriptor at 0x8000. */
export const DETECT_HEAD_BYTES = 64 * 1024;
/** How many trailing bytes: the VHD footer. */
export const DETECT_TAIL_BYTES = 512;

const SECTOR = 512;

export interface DetectInput {
  /** The first min(size, DETECT_HEAD_BYTES) bytes. */
  head: Buffer;
  /** The last min(size, DETECT_TAIL_BYTES) bytes. */
  tail: Buffer;
  /** Total bytes of the file. */
  size: number;
}

export interface DetectedFormat {
  format: DiskFormat;
  /** Bytes of the disk the file describes (what a machine booted from it sees). */
  virtualSize: number;
}

export class UnsupportedFormatError extends Error {
  override readonly name = 'UnsupportedFormatError';
}

const at = (buf: Buffer, offset: number, magic: string): boolean =>
  buf.length >= offset + magic.length && buf.subarray(offset, offset + magic.length).equals(Buffer.from(magic, 'latin1'));

function u64be(buf: Buffer, offset: number): number {
  const v = buf.readBigUInt64BE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsupportedFormatError(`the header's disk size ${v} is not plausible`);
  return Number(v);
}

function u64le(buf: Buffer, offset: number): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsupportedFormatError(`the header's disk size ${v} is not plausible`);
  return Number(v);
}

/** Things that are not a bare disk image; each would be silently mistaken for raw. */
const NOT_A_DISK: [offset: number, magic: string, what: string][] = [
  [0, '\x1f\x8b', 'a gzip-compressed file'],
  [0, '\xfd7zXZ\x00', 'an xz-compressed file'],
  [0, 'BZh', 'a bzip2-compressed file'],
  [0, '\x28\xb5\x2f\xfd', 'a zstd-compressed file'],
  [0, 'PK\x03\x04', 'a zip archive'],
  [257, 'ustar', 'a tar archive (an OVA?)'],
  [0, 'vhdxfile', 'a VHDX disk (not supported yet)'],
  [64, '\x7f\x10\xda\xbe', 'a VirtualBox VDI disk (not supported yet)'],
];

export function detectFormat({ head, tail, size }: DetectInput): DetectedFormat {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  if (size === 0) throw new UnsupportedFormatError('the file is empty');

  if (at(head, 0, 'QFI\xfb')) {
    if (head.length < 32) throw new UnsupportedFormatError('truncated qcow2 header');
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw new UnsupportedFormatError(`qcow2 version ${version} is not supported`);
    return { format: 'qcow2', virtualSize: u64be(head, 24) };
  }

  if (at(head, 0, 'KDMV')) {
    if (head.length < 20) throw new UnsupportedFormatError('truncated vmdk header');
    return { format: 'vmdk', virtualSize: u64le(head, 12) * SECTOR };
  }

  if (at(head, 0, '# Disk DescriptorFile')) return { format: 'vmdk', virtualSize: descriptorCapacity(head) };

  const tailFooter = tail.length >= 512 ? tail.subarray(tail.length - 512) : undefined;
  const footer = tailFooter && at(tailFooter, 0, 'conectix') ? tailFooter : at(head, 0, 'conectix') ? head : undefined;
  if (footer) {
    if (footer.length < 64) throw new UnsupportedFormatError('truncated vhd footer');
    const diskType = footer.readUInt32BE(60);
    if (diskType !== 2 && diskType !== 3 && diskType !== 4) throw new UnsupportedFormatError(`vhd disk type ${diskType} is not valid`);
    return { format: 'vhd', virtualSize: u64be(footer, 48) };
  }

  if (at(head, 0x8001, 'CD001')) return { format: 'iso', virtualSize: size };

  for (const [offset, magic, what] of NOT_A_DISK) {
    if (at(head, offset, magic)) throw new UnsupportedFormatError(`the file is ${what}, not a disk image (raw, qcow2, vmdk, vhd or iso)`);
  }
  return { format: 'raw', virtualSize: size };
}

/** Sum of the extent sizes of a VMDK text descriptor: lines like `RW 4192256 SPARSE "disk-s001.vmdk"`. */
function descriptorCapacity(head: Buffer): number {
  const text = head.toString('latin1');
  let sectors = 0;
  let extents = 0;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(FLAT|SPARSE|ZERO|VMFS|VMFSSPARSE|VMFSRDM|VMFSRAW)\b/.exec(line);
    if (!m) continue;
    sectors += Number(m[2]);
    extents++;
  }
  if (extents === 0) throw new UnsupportedFormatError('vmdk descriptor without extents');
  if (!Number.isSafeInteger(sectors * SECTOR)) throw new UnsupportedFormatError('vmdk descriptor size is not plausible');
  return sectors * SECTOR;
}
