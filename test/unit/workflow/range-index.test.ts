/**
 * The range index of a file built in ranges (lambdas/workflow/range-index.ts): made from the upload's
 * parts, it locates every range in the file and on the disk; a reader refuses an index that does not
 * match the file's manifest rather than guessing.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ImageFileCorruptError } from '../../../lambdas/core/errors';
import { locateRange, rangeIndexFromParts, rangeIndexKey, readRangeIndex, type RangeIndex } from '../../../lambdas/workflow/range-index';

const MiB = 1024 * 1024;
const ref = { ranges: 3, rangeBytes: 16 * MiB, rawSize: 40 * MiB + 5 };
const md5 = (c: string) => c.repeat(32);

/** An S3 client whose GetObject answers `body` for the index key (or 404). */
const s3With = (body: string | undefined, seen: string[] = []) =>
  ({
    send: async (command: { input: { Key: string } }) => {
      seen.push(command.input.Key);
      if (body === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToString: async () => body } };
    },
  }) as unknown as S3Client;

describe('range index', () => {
  const parts = [
    { Size: 7 * MiB, ETag: `"${md5('a')}"` },
    { Size: 5 * MiB + 3, ETag: `"${md5('b')}"` },
    { Size: 2 * MiB, ETag: '"0123-not-an-md5-2"' },
  ];
  const index = rangeIndexFromParts(parts, ref);
  const file = { key: 'images/x/file.gz', size: 14 * MiB + 3, rangeIndex: ref };

  it('records each part as its range: length and MD5 (none when the ETag is not one), and the file size', () => {
    expect(index).toEqual({
      version: 1,
      ...ref,
      fileSize: 14 * MiB + 3,
      lengths: [7 * MiB, 5 * MiB + 3, 2 * MiB],
      md5: [md5('a'), md5('b'), null],
    });
  });

  it('locates a range in the file (after the ranges before it) and on the disk (the last one short)', () => {
    expect(locateRange(index, 0)).toEqual({ index: 0, fileStart: 0, fileLength: 7 * MiB, md5: md5('a'), rawStart: 0, rawLength: 16 * MiB });
    expect(locateRange(index, 2)).toEqual({
      index: 2,
      fileStart: 12 * MiB + 3,
      fileLength: 2 * MiB,
      md5: null,
      rawStart: 32 * MiB,
      rawLength: 8 * MiB + 5,
    });
  });

  it('reads the index beside the file', async () => {
    const seen: string[] = [];
    await expect(readRangeIndex(s3With(JSON.stringify(index), seen), 'b', file)).resolves.toEqual(index);
    expect(seen).toEqual([rangeIndexKey(file.key)]);
    expect(rangeIndexKey(file.key)).toBe('images/x/file.gz.ranges.json');
  });

  it.each<[string, (i: RangeIndex) => unknown]>([
    ['lengths that do not add up to the file', (i) => ({ ...i, lengths: [1, 2, 3] })],
    ['another range size', (i) => ({ ...i, rangeBytes: 8 * MiB })],
    ['another disk size', (i) => ({ ...i, rawSize: 1 })],
    ['a missing entry', (i) => ({ ...i, md5: i.md5.slice(1) })],
    ['another version', (i) => ({ ...i, version: 2 })],
  ])('refuses an index with %s as corrupt', async (_what, change) => {
    await expect(readRangeIndex(s3With(JSON.stringify(change(index))), 'b', file)).rejects.toBeInstanceOf(ImageFileCorruptError);
  });

  it('refuses a missing index, one that is not JSON, and a file without one as corrupt', async () => {
    await expect(readRangeIndex(s3With(undefined), 'b', file)).rejects.toThrow(/is missing/);
    await expect(readRangeIndex(s3With('{'), 'b', file)).rejects.toThrow(/not JSON/);
    await expect(readRangeIndex(s3With(JSON.stringify(index)), 'b', { ...file, rangeIndex: undefined })).rejects.toBeInstanceOf(
      ImageFileCorruptError,
    );
  });
});
