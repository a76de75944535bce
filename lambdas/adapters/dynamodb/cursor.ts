/**
 * Opaque pagination cursors: the base64url-encoded LastEvaluatedKey, checked on decode so a
 * tampered or foreign cursor is a ValidationError (4xx), never a 500.
 */
import { ValidationError } from '../../core/errors';

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

export function decodeCursor(cursor: string | undefined, expectedKeys: string[]): Record<string, string> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const bad = () =>
    new ValidationError('invalid marker', [{ field: 'marker', code: 'Invalid', message: 'marker is not a cursor this service issued' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad();
  const obj = parsed as Record<string, unknown>;
  const keysOk =
    Object.keys(obj).length === expectedKeys.length &&
    expectedKeys.every((k) => typeof obj[k] === 'string' && (obj[k] as string).length < 1024);
  if (!keysOk) throw bad();
  return obj as Record<string, string>;
}
