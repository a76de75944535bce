/**
 * Idempotent creates: a request that carries an `Idempotency-Key` header runs at most once per
 * (operation, caller, key). A retry with the same key and the same body gets the first answer again
 * (status, body, headers, plus `idempotent-replayed: true`) and starts nothing; the same key with a
 * different body is refused (InvalidParameter on the field `Idempotency-Key`, in the dialect's shape);
 * a retry that arrives while the first is still running waits for its answer. Without the header a
 * request runs as before.
 *
 * Built on Powertools' idempotency utility with its DynamoDB persistence on the service's one table
 * (docs/decisions/idempotency.md): the record's key is `PK=IDEMPOTENCY#<hash>, SK=IDEMPOTENCY`, so
 * records spread over partitions, and its expiry is the table's TTL attribute `ttl`.
 *
 * Use: `httpHandler({ operation, renderer }, idempotent(async (req) => …))` — the run function of any
 * create route, any dialect.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { createHash } from 'node:crypto';
import { InvalidParameterError, StateConflictError, ServiceUnavailableError, ValidationError } from '../core/errors';
import { config as wiringConfig, dynamoClient } from '../wiring';
import type { HttpRequest, HttpResponse } from './middleware';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long a key is remembered (Stripe keeps 24 h; so do we). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** A key is 1–255 printable ASCII characters (a UUID is the usual choice). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Powertools' DynamoDB layer, keyed for the single table: one partition per record, not one for all. */
class SingleTablePersistence extends DynamoDBPersistenceLayer {
  override getKey(idempotencyKey: string) {
    return marshall({ PK: `IDEMPOTENCY#${idempotencyKey}`, SK: 'IDEMPOTENCY' });
  }
}

let persistence: SingleTablePersistence | undefined;
const persistenceStore = (): SingleTablePersistence =>
  (persistence ??= new SingleTablePersistence({
    tableName: wiringConfig.tableName(),
    keyAttr: 'PK',
    expiryAttr: 'ttl',
    awsSdkV3Client: dynamoClient() as DynamoDBClient,
  }));

interface IdempotentCall {
  /** What the key is scoped to: the operation and the caller's account, so keys never cross accounts. */
  scope: string;
  key: string;
  /** What must match for a replay: the body (sha256 of its canonical JSON) and the path and query. */
  payload: string;
  req: HttpRequest;
}

/** How long a retry waits for the first request's answer before giving up with a 409. */
const WAIT_BUDGET_MS = 20_000;

/** Stable JSON: keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wraps a create route's run function (see the file comment). */
export function idempotent(run: (req: HttpRequest) => Promise<HttpResponse>): (req: HttpRequest) => Promise<HttpResponse> {
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: '[scope, key]',
    payloadValidationJmesPath: 'payload',
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
    throwOnNoIdempotencyKey: true,
    responseHook: (response) => {
      const r = response as unknown as HttpResponse;
      return { ...r, headers: { ...r.headers, 'idempotent-replayed': 'true' } } as never;
    },
  });
  let wrapped: ((call: IdempotentCall) => Promise<HttpResponse>) | undefined;
  const once = () =>
    (wrapped ??= makeIdempotent(async (call: IdempotentCall) => run(call.req), {
      persistenceStore: persistenceStore(),
      config: idempotencyConfig,
      dataIndexArgument: 0,
    }) as (call: IdempotentCall) => Promise<HttpResponse>);

  return async (req) => {
    const key = req.headers[IDEMPOTENCY_HEADER];
    if (key === undefined) return run(req);
    if (!KEY_PATTERN.test(key)) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 printable ASCII characters', [
        { field: 'Idempotency-Key', code: 'Invalid', message: 'must be 1 to 255 printable ASCII characters' },
      ]);
    }
    const payload = createHash('sha256')
      .update(canonical({ path: req.event.path, query: req.query, body: req.body ?? null }))
      .digest('hex');
    const call: IdempotentCall = { scope: `${req.operation}#${req.caller.accountId}`, key, payload, req };
    const context = req.context;
    if (context) idempotencyConfig.registerLambdaContext(context);
    const deadline = Date.now() + Math.min(WAIT_BUDGET_MS, Math.max(0, (context?.getRemainingTimeInMillis() ?? WAIT_BUDGET_MS) - 2_000));
    for (let attempt = 0; ; attempt++) {
      try {
        return await once()(call);
      } catch (err) {
        if (err instanceof IdempotencyValidationError) {
          throw new InvalidParameterError('this Idempotency-Key was already used with a different request', [
            { field: 'Idempotency-Key', code: 'Invalid', message: 'already used with a different request body, path or query' },
          ]);
        }
        if (err instanceof IdempotencyAlreadyInProgressError) {
          if (Date.now() >= deadline)
            throw new StateConflictError('a request with this Idempotency-Key is still in progress; retry it later');
          await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
          continue;
        }
        if (err instanceof IdempotencyPersistenceLayerError)
          throw new ServiceUnavailableError('the request could not be recorded; retry it with the same Idempotency-Key');
        throw err;
      }
    }
  };
}
