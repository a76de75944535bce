import { execFileSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gzipPadding, MAX_PADDING_MEMBER } from '../../../lambdas/pipeline/gzip-padding';

describe('gzipPadding', () => {
  it.each([
    1,
    21,
    22,
    23,
    25,
    26,
    27,
    1000,
    MAX_PADDING_MEMBER,
    MAX_PADDING_MEMBER + 1,
    MAX_PADDING_MEMBER + 23,
    2 * MAX_PADDING_MEMBER + 1,
    5 * 1024 * 1024 - 3,
  ])('pads %i bytes with empty members that gunzip reads as nothing between two real members', (n) => {
    // Act
    const pad = gzipPadding(n);
    const file = Buffer.concat([gzipSync(Buffer.from('hello ')), pad, gzipSync(Buffer.from('world'))]);
    // Assess
    expect(pad.length).toBe(n < 22 ? 22 : n > 22 && n < 26 ? 26 : n);
    expect(gunzipSync(file).toString()).toBe('hello world');
    expect(execFileSync('gzip', ['-dc'], { input: file }).toString()).toBe('hello world');
  });

  it('is empty for 0 and refuses a negative size', () => {
    expect(gzipPadding(0).length).toBe(0);
    expect(() => gzipPadding(-1)).toThrow(RangeError);
  });
});
