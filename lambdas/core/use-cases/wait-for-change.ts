/**
 * Long-poll (docs/decisions/long-poll.md): reads a resource until its revision differs from a baseline
 * or the wait ends, whichever comes first, and answers the last read. The baseline is the revision the
 * client last saw (its `If-None-Match`), else the revision at the first read — so a change that lands
 * between a client's previous read and this request is answered at once when the client sends its ETag.
 * A read that fails (e.g. the resource is gone) ends the wait with that error.
 */
export interface WaitForChangeOptions {
  /** How long to wait for a change at most, in ms (0: answer the first read). */
  waitMs: number;
  /** Between reads, in ms. */
  pollMs: number;
  /** The revision the client has; undefined = the one of the first read. */
  baseline?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitForChange<T extends { rev: number }>(read: () => Promise<T>, options: WaitForChangeOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const deadline = now() + Math.max(0, options.waitMs);
  let current = await read();
  const baseline = options.baseline ?? current.rev;
  while (current.rev === baseline) {
    const left = deadline - now();
    if (left <= 0) break;
    await sleep(Math.min(options.pollMs, left));
    current = await read();
  }
  return current;
}
