/**
 * The buffer-reuse contract (formats/stage.ts): sequentialReads recycles its read buffers once the
 * consumer has asked for a piece `retainBytes` past them, and every writer's `retainBytes` is a true
 * bound — fed a source that overwrites recycled buffers as soon as the contract allows, each writer
 * produces a file holding the same disk (read back by our reader) and of the same size as from a
 * source that never reuses a buffer. A bound too small is caught: the disk read back differs.
 */
import { bufferSource, collect, createWriter, openDisk, type OutputSpec } from '../../../../lambdas/pipeline/formats';
import { sequentialReads, type RandomAccessSource } from '../../../../lambdas/pipeline/formats/stage';
import { generateDiskBuffer } from '../../../helpers/disk-content';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A source over `data` with readInto, counting the distinct buffers it was asked to fill. */
function recordingSource(data: Buffer): RandomAccessSource & { buffers: Set<Buffer> } {
  const buffers = new Set<Buffer>();
  return {
    size: data.length,
    buffers,
    async read(offset, length) {
      return Buffer.from(data.subarray(offset, offset + length));
    },
    async readInto(into, offset, length) {
      buffers.add(into);
      await new Promise((resolve) => setImmediate(resolve));
      data.copy(into, 0, offset, offset + length);
    },
  };
}

/** Consumes a writer's output as the contract requires: each output copied before the next is asked for. */
async function writeCopied(spec: OutputSpec, source: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const writer = createWriter(spec, { virtualSize: size, concurrency: 2 });
  const out: Buffer[] = [];
  for await (const b of writer.write(source)) out.push(Buffer.from(b));
  if (writer.headSize > 0) writer.head().copy(out[0]);
  return Buffer.concat(out);
}

/** The disk a written file holds, through our reader. */
async function diskOf(spec: OutputSpec, file: Buffer): Promise<Buffer> {
  return collect((await openDisk(spec.format, bufferSource(file))).stream());
}

describe('sequentialReads', () => {
  const data = generateDiskBuffer(5 * MiB + 3 * KiB, 3);

  it('reads the whole source in order into at most ahead + retain/piece + 1 recycled buffers', async () => {
    // Prepare
    const source = recordingSource(data);
    const got: Buffer[] = [];

    // Act
    for await (const piece of sequentialReads(source, { pieceSize: 256 * KiB, ahead: 3, retainBytes: 512 * KiB }))
      got.push(Buffer.from(piece));

    // Assert
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(source.buffers.size).toBeLessThanOrEqual(3 + 2 + 1);
    expect(source.buffers.size).toBeGreaterThanOrEqual(3);
  });

  it('without a bound, hands out a fresh buffer per piece (the consumer may keep them all)', async () => {
    // Prepare
    const source = recordingSource(data);
    const kept: Buffer[] = [];

    // Act
    for await (const piece of sequentialReads(source, { pieceSize: 256 * KiB })) kept.push(piece);

    // Assert
    expect(source.buffers.size).toBe(0);
    expect(Buffer.concat(kept).equals(data)).toBe(true);
  });
});

describe('writers honour their retainBytes with a recycling source', () => {
  // data at the end, zeros and text and random in runs of 4 KiB–1 MiB, not a multiple of any block
  const size = 9 * MiB + 12_345;
  const data = generateDiskBuffer(size, 17);
  const specs: OutputSpec[] = [
    { format: 'raw' },
    { format: 'qcow2' },
    { format: 'qcow2', compressed: true },
    { format: 'vmdk', subformat: 'streamOptimized' },
    { format: 'vmdk', subformat: 'monolithicSparse' },
    { format: 'vhd', subformat: 'dynamic' },
    { format: 'vhd', subformat: 'fixed' },
  ];

  it.each(specs.map((spec) => ({ spec, label: JSON.stringify(spec) })))(
    '$label: same disk and size as from fresh buffers',
    async ({ spec }) => {
      // Prepare
      const expected = await writeCopied(spec, sequentialReads(recordingSource(data), { pieceSize: 96 * KiB }), size);
      const retain = createWriter(spec, { virtualSize: size, concurrency: 2 }).retainBytes;
      const source = recordingSource(data);

      // Act
      const actual = await writeCopied(spec, sequentialReads(source, { pieceSize: 96 * KiB, ahead: 2, retainBytes: retain }), size);

      // Assert
      expect(source.buffers.size).toBeLessThanOrEqual(2 + Math.ceil(retain / (96 * KiB)) + 1);
      expect(actual.length).toBe(expected.length);
      const disk = await diskOf(spec, actual);
      expect(disk.subarray(0, size).equals(data)).toBe(true);
      expect((await diskOf(spec, expected)).equals(disk)).toBe(true);
    },
  );

  it('a bound smaller than the writer needs corrupts the file (the test can fail)', async () => {
    // Prepare
    const spec: OutputSpec = { format: 'vhd', subformat: 'dynamic' };
    const expected = await writeCopied(spec, sequentialReads(recordingSource(data), { pieceSize: 96 * KiB }), size);

    // Act: a dynamic vhd keeps up to two 2 MiB blocks of views; 0 lets the source overwrite them
    const actual = await writeCopied(spec, sequentialReads(recordingSource(data), { pieceSize: 96 * KiB, ahead: 2, retainBytes: 0 }), size);

    // Assert
    expect(actual.length).toBe(expected.length);
    expect((await diskOf(spec, actual)).subarray(0, size).equals(data)).toBe(false);
  });
});
