import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DETECT_HEAD_BYTES, DETECT_TAIL_BYTES, UnsupportedFormatError, detectFormat } from '../../../lambdas/pipeline/detect-format';
import { GiB, iso, notADisk, qcow2, vhdFixed, vhdFooter, vmdkDescriptor, vmdkSparse } from '../../helpers/ims-fixtures';

const input = (file: Buffer) => ({
  head: file.subarray(0, DETECT_HEAD_BYTES),
  tail: file.subarray(Math.max(0, file.length - DETECT_TAIL_BYTES)),
  size: file.length,
});

describe('detectFormat', () => {
  it('reads a qcow2 header and its virtual size at offset 24', () => {
    expect(detectFormat(input(qcow2(40 * GiB)))).toEqual({ format: 'qcow2', virtualSize: 40 * GiB });
  });

  it('refuses a qcow2 of an unknown version', () => {
    const b = qcow2(GiB);
    b.writeUInt32BE(9, 4);
    expect(() => detectFormat(input(b))).toThrow(UnsupportedFormatError);
  });

  it('reads a sparse vmdk capacity in sectors', () => {
    expect(detectFormat(input(vmdkSparse(8 * GiB)))).toEqual({ format: 'vmdk', virtualSize: 8 * GiB });
  });

  it('sums the extents of a vmdk text descriptor', () => {
    expect(detectFormat(input(vmdkDescriptor(2048, 4096)))).toEqual({ format: 'vmdk', virtualSize: (2048 + 4096) * 512 });
  });

  it('reads a fixed vhd footer in the last 512 bytes', () => {
    const file = vhdFixed(Buffer.alloc(3 * 512, 7));
    expect(detectFormat(input(file))).toEqual({ format: 'vhd', virtualSize: 3 * 512 });
  });

  it('reads a dynamic vhd from the footer copy at offset 0', () => {
    const file = Buffer.concat([vhdFooter(20 * GiB, 3), Buffer.alloc(1536), vhdFooter(20 * GiB, 3)]);
    expect(detectFormat({ ...input(file), tail: Buffer.alloc(512) })).toEqual({ format: 'vhd', virtualSize: 20 * GiB });
  });

  it('finds the ISO 9660 descriptor at 0x8001; the virtual size is the byte size', () => {
    const file = iso(0x9000);
    expect(detectFormat(input(file))).toEqual({ format: 'iso', virtualSize: 0x9000 });
  });

  it('takes anything else as raw, sized by its bytes', () => {
    const file = Buffer.alloc(10_000, 1);
    expect(detectFormat(input(file))).toEqual({ format: 'raw', virtualSize: 10_000 });
  });

  it.each([
    ['gzip', notADisk()],
    ['zip', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100)])],
    ['vhdx', Buffer.concat([Buffer.from('vhdxfile', 'latin1'), Buffer.alloc(100)])],
  ])('refuses a %s file with a clear error instead of calling it raw', (_label, file) => {
    expect(() => detectFormat(input(file))).toThrow(/not a disk image|not supported/);
  });

  it('refuses an empty file', () => {
    expect(() => detectFormat({ head: Buffer.alloc(0), tail: Buffer.alloc(0), size: 0 })).toThrow(UnsupportedFormatError);
  });

  const qemuImg = (() => {
    try {
      execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (qemuImg ? it.each(['qcow2', 'vmdk', 'vpc'] as const) : it.skip.each(['qcow2', 'vmdk', 'vpc'] as const))(
    'agrees with qemu-img on a %s file it created',
    (fmt) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'detect-'));
      const file = path.join(dir, `disk.${fmt}`);
      execFileSync('qemu-img', ['create', '-f', fmt, file, '64M'], { stdio: 'ignore' });
      const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', file]).toString()) as { 'virtual-size': number };
      const bytes = readFileSync(file);
      const got = detectFormat({ ...input(bytes), size: statSync(file).size });
      expect(got.format).toBe(fmt === 'vpc' ? 'vhd' : fmt);
      expect(got.virtualSize).toBe(info['virtual-size']);
    },
  );
});
