/** Maps zod issues to the core's FieldIssue list (dialects share it). */
import type { ZodError } from 'zod';
import type { FieldIssue } from '../core/errors';

export function fieldIssues(error: ZodError, input: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ field: [...path, k].join('.'), code: 'Unknown', message: 'is not a known field' });
      continue;
    }
    const field = path.join('.') || '(body)';
    const absent = issue.code === 'invalid_type' && valueAt(input, path) === undefined;
    out.push({ field, code: absent ? 'MissingParameter' : 'Invalid', message: absent ? 'is required' : issue.message });
  }
  return out;
}

function valueAt(input: unknown, path: string[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}
