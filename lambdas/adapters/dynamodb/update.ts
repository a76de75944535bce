/**
 * Builds conditional UpdateItem requests from named fragments, as every state change in the service
 * is one: "apply these changes if the item is in one of these states (and at this revision)".
 * A lost condition becomes a StateConflictError (or NotFoundError) carrying the current state.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, StateConflictError } from '../../core/errors';

export interface Expectation {
  /** Attribute holding the state (`state` for images and machines, `status` for jobs). */
  stateAttribute: string;
  states: string[];
  rev?: number;
}

export interface UpdateSpec {
  key: Record<string, string>;
  expect: Expectation;
  /** Attributes to SET; `undefined` values are REMOVEd. */
  set: Record<string, unknown>;
  /** Raw SET clauses on top (e.g. copying one attribute into another), with their own names. */
  extraSet?: string[];
  extraNames?: Record<string, string>;
  extraValues?: Record<string, unknown>;
  remove?: string[];
}

export function buildUpdate(tableName: string, spec: UpdateSpec) {
  const names: Record<string, string> = { '#state': spec.expect.stateAttribute, '#rev': 'rev', ...spec.extraNames };
  const values: Record<string, unknown> = { ':one': 1, ...spec.extraValues };
  const sets: string[] = ['#rev = #rev + :one', ...(spec.extraSet ?? [])];
  const removes: string[] = [];
  let i = 0;
  for (const [attr, value] of Object.entries(spec.set)) {
    const n = `#a${i}`;
    names[n] = attr;
    if (value === undefined) removes.push(n);
    else {
      values[`:a${i}`] = value;
      sets.push(`${n} = :a${i}`);
    }
    i++;
  }
  for (const attr of spec.remove ?? []) {
    const n = `#r${removes.length}`;
    names[n] = attr;
    removes.push(n);
  }
  const stateTokens = spec.expect.states.map((s, j) => {
    values[`:s${j}`] = s;
    return `:s${j}`;
  });
  const conditions = ['attribute_exists(PK)', `#state IN (${stateTokens.join(', ')})`];
  if (spec.expect.rev !== undefined) {
    values[':rev'] = spec.expect.rev;
    conditions.push('#rev = :rev');
  }
  if (stateTokens.length === 0) throw new Error('an update must expect at least one state');
  return new UpdateCommand({
    TableName: tableName,
    Key: spec.key,
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW',
  });
}

/** Runs a conditional update; on a lost condition reads the item to say why. */
export async function conditionalUpdate(
  doc: DynamoDBDocumentClient,
  tableName: string,
  what: string,
  spec: UpdateSpec,
): Promise<Record<string, unknown>> {
  try {
    const out = await doc.send(buildUpdate(tableName, spec));
    return out.Attributes as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const current = await doc.send(new GetCommand({ TableName: tableName, Key: spec.key, ConsistentRead: true }));
    if (!current.Item) throw new NotFoundError(`${what} not found`);
    const state = String(current.Item[spec.expect.stateAttribute]);
    const revNote = spec.expect.rev !== undefined && current.Item.rev !== spec.expect.rev ? ' (changed concurrently)' : '';
    throw new StateConflictError(`${what} is ${state}${revNote}; expected ${spec.expect.states.join(' or ')}`, state);
  }
}
