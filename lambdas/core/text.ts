/**
 * User-visible text: every string a caller stores is shown to others (sharees, listings, terminals
 * running the CLIs), so none may carry control characters — C0 (NUL, BEL, ESC, CR, LF, TAB …), DEL or
 * C1 (including CSI, U+009B) — which a terminal would act on rather than print.
 */
import { ValidationError, type FieldIssue } from './errors';

export const CONTROL_CHARACTERS = /\p{Cc}/u;

export const hasControlCharacters = (s: string): boolean => CONTROL_CHARACTERS.test(s);

const MAX_DEPTH = 32;

/** Every field (and object key) of a parsed body holding a control character, as `a.b.0.c` paths. */
export function controlCharacterFields(value: unknown, path = '', depth = 0): string[] {
  if (typeof value === 'string') return hasControlCharacters(value) ? [path || '(body)'] : [];
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const here = path ? `${path}.${k}` : k;
    if (!Array.isArray(value) && hasControlCharacters(k)) out.push(here);
    out.push(...controlCharacterFields(v, here, depth + 1));
    if (out.length >= 20) break;
  }
  return out;
}

/** Throws a ValidationError naming every field that holds a control character. */
export function assertNoControlCharacters(body: unknown): void {
  const fields = controlCharacterFields(body);
  if (!fields.length) return;
  const issues: FieldIssue[] = fields.map((field) => ({ field, code: 'Invalid', message: 'must not contain control characters' }));
  throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}
