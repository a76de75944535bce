/** raw: the disk's bytes as they are (zero-padded to whole sectors, like every other writer). */
import { SourceSizeMismatchError } from '../errors';
import {
  SECTOR,
  checkDiskRange,
  prefixSource,
  roundUp,
  sequentialReads,
  toBuffer,
  zeros,
  type DiskReader,
  type DiskWriter,
  type RandomAccessSource,
  type RawSource,
} from './stage';

export function createRawWriter(opts: { virtualSize: number }): DiskWriter {
  const size = opts.virtualSize;
  const virtualSize = roundUp(size, SECTOR);
  return {
    format: 'raw',
    virtualSize,
    headSize: 0,
    // each piece is yielded as it is: nothing is kept once the next is asked for
    retainBytes: 0,
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

/** Reads a raw file in 8 MiB pieces, 4 in flight (into recycled buffers when the consumer bounds its views). */
export function openRaw(source: RandomAccessSource): DiskReader {
  return {
    format: 'raw',
    virtualSize: source.size,
    stream: (opts) => sequentialReads(source, { pieceSize: 8 * 1024 * 1024, ahead: 4, retainBytes: opts?.retainBytes }),
    streamRange(start, end) {
      checkDiskRange(start, end, source.size);
      return sequentialReads(prefixSource(source, end), { from: start, pieceSize: 8 * 1024 * 1024, ahead: 4 });
    },
  };
}
