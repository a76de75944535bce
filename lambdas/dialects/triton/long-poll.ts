/**
 * `?wait=N` on Triton's GetJob and GetImage (docs/decisions/long-poll.md): N whole seconds, 0 to 25,
 * else 409 InvalidArgument as any bad Triton argument. Each answer carries `ETag: "<rev>"`; a request's
 * `If-None-Match` with such an ETag is the baseline the wait compares against.
 *
 * The wait is also cut so the answer leaves the function 1.5 s before its timeout; the route functions
 * run 30 s and API Gateway waits 29 s (test/infra/long-poll.test.ts keeps 25 s inside both).
 */
import * as z from 'zod';
import type { HttpRequest } from '../../http/middleware';
import { waitForChange } from '../../core/use-cases/wait-for-change';
import { parseWith } from './schemas';

export const MAX_WAIT_SECONDS = 25;
/** Between reads while waiting: at most 2 consistent GetItems a second per waiting request. */
export const WAIT_POLL_MS = 500;
/** Time kept to answer before the function's timeout. */
export const WAIT_MARGIN_MS = 1500;

export const waitQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(
      `Long-poll: answer as soon as the resource changes (its revision differs from If-None-Match, else from the one at request time), or after this many seconds (0–${MAX_WAIT_SECONDS}).`,
    ),
});

export const etagOf = (rev: number): string => `"${rev}"`;

/** The revision an `If-None-Match` names (`"12"` or `W/"12"`; the first of a list), if any. */
export function baselineFrom(headers: Record<string, string>): number | undefined {
  const m = /^\s*(?:W\/)?"(\d+)"/.exec(headers['if-none-match'] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Reads once, or until a change within `?wait=` seconds; answers the last read. */
export async function readWaiting<T extends { rev: number }>(req: HttpRequest, read: () => Promise<T>): Promise<T> {
  const { wait } = parseWith(waitQuery, { wait: req.query.wait });
  if (!wait) return read();
  const remaining = req.context ? req.context.getRemainingTimeInMillis() - WAIT_MARGIN_MS : Infinity;
  return waitForChange(read, {
    waitMs: Math.max(0, Math.min(wait * 1000, remaining)),
    pollMs: WAIT_POLL_MS,
    baseline: baselineFrom(req.headers),
  });
}
