/**
 * Turns schema issues into core errors, reporting every field problem at once (as IMGAPI does).
 * Absent required fields win: CloudAPI answers those with MissingParameter before anything else.
 */
import { InvalidArgumentError, MissingParameterError, ValidationError, type FieldIssue } from './errors';

export function errorFromIssues(issues: FieldIssue[]): Error {
  const missing = issues.filter((i) => i.code === 'MissingParameter');
  if (missing.length)
    return new MissingParameterError(`${missing.map((i) => i.field).join(', ')} ${missing.length > 1 ? 'are' : 'is'} required`, issues);
  const unknown = issues.filter((i) => i.code === 'Unknown');
  if (unknown.length === issues.length)
    return new InvalidArgumentError(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.map((i) => i.field).join(', ')}`, issues);
  return new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}
