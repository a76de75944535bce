/** Paging query parameters shared by Triton list routes: `limit` (1–1000) and an opaque `marker`. */
import * as z from 'zod';
import type { PageRequest } from '../../core/ports';
import { parseWith } from './schemas';

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  marker: z.string().max(2048).optional(),
});

export function parsePageQuery(query: Record<string, string>): PageRequest {
  const q = parseWith(pageQuery, { limit: query.limit, marker: query.marker });
  return { limit: q.limit ?? 1000, cursor: q.marker };
}
