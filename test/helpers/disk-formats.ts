/**
 * Helpers for disk-format tests: small test disks of each kind, running a writer into a file (head
 * put in place as a sink would), and qemu-img as the reference.
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { DiskWriter } from '../../lambdas/pipeline/formats';
import { generateDiskBuffer } from './disk-content';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Test disks: zeros, text, random, data only at its end; sizes not multiples of 64 KiB / 2 MiB. */
export function testDisks(): { name: string; data: Buffer }[] {
  const text = Buffer.alloc(2 * MiB + 7 * 512);
  const line = Buffer.from('Nov 29 11:22:48 host kernel: [ 1.234567] EXT4-fs (vda1): mounted filesystem with ordered data mode\n');
  for (let off = 0; off < text.length; off += line.length) line.copy(text, off);
  const sparseEnd = Buffer.alloc(5 * MiB + 3 * 512);
  sparseEnd.write('data only at the end of the disk', sparseEnd.length - 100);
  return [
    { name: 'zeros', data: Buffer.alloc(3 * MiB) },
    { name: 'text', data: text },
    { name: 'random', data: randomFillSync(Buffer.alloc(MiB + 4096)) },
    { name: 'sparse-end', data: sparseEnd },
    { name: 'mixed', data: generateDiskBuffer(4 * MiB + 12345, 7) },
  ];
}

export async function* pieces(data: Buffer, pieceSize = 100_000): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += pieceSize) yield data.subarray(off, off + pieceSize);
}

/** Runs the writer over `data` into `path`, puts the head in place; returns the bytes written. */
export async function writeFile(writer: DiskWriter, data: Buffer, path: string): Promise<number> {
  const fd = openSync(path, 'w');
  let size = 0;
  try {
    for await (const b of writer.write(pieces(data))) {
      writeSync(fd, b);
      size += b.length;
    }
    if (writer.headSize > 0) {
      const head = writer.head();
      if (head.length !== writer.headSize) throw new Error('head size changed');
      writeSync(fd, head, 0, head.length, 0);
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

export const hasQemuImg = (() => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export function qemuImg(args: string[]): { status: number; out: string } {
  try {
    return { status: 0, out: execFileSync('qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString() };
  } catch (err) {
    const e = err as { status: number; stdout?: Buffer; stderr?: Buffer };
    return { status: e.status, out: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

export const readBytes = (path: string): Buffer => readFileSync(path);
