/** raw: the disk's bytes as they are (zero-padded to whole sectors, like every other writer). */
import { SourceSizeMismatchError } from '../errors';
import { SECTOR, roundUp, toBuffer, zeros, type DiskReader, type DiskWriter, type RandomAccessSource, type RawSource } from './stage';

export function createRawWriter(opts: { virtualSize: number }): DiskWriter {
  const size = opts.virtualSize;
  const virtualSize = roundUp(size, SECTOR);
  return {
    format: 'raw',
    virtualSize,
    headSize: 0,
    async *write(raw: RawSource) {
      let read = 0;
      for await (const piece of raw) {
        const buf = toBuffer(piece);
        read += buf.length;
        if (read > size) throw new SourceSizeMismatchError(size, read, false);
        if (buf.length > 0) yield buf;
      }
      if (read !== size) throw new SourceSizeMismatchError(size, read, true);
      if (virtualSize > size) yield zeros(virtualSize - size);
    },
    head: () => Buffer.alloc(0),
  };
}

/** Reads a raw file in 8 MiB pieces. */
export function openRaw(source: RandomAccessSource): DiskReader {
  return {
    format: 'raw',
    virtualSize: source.size,
    async *stream() {
      const step = 8 * 1024 * 1024;
      for (let off = 0; off < source.size; off += step) yield await source.read(off, Math.min(step, source.size - off));
    },
  };
}
