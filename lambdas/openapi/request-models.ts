/**
 * The request-body models API Gateway validates before a route's function runs (lib/constructs/http-api.ts),
 * and the local gateway likewise (local/gateway.ts, local/body-validation.ts). Models are JSON Schema
 * draft 4, the only draft API Gateway speaks (docs/decisions/operations-checks.md, "Request validation").
 *
 * A model must never change the answer a client gets: the handler's answer in its dialect's own shape is
 * the API's contract for a bad body (Triton 409 InvalidArgument listing the bad fields, IMS IMG.xxxx,
 * UForge uforgeError), and API Gateway can only answer with the one gateway response body all dialects
 * share (lib/gateway-responses.ts, BAD_REQUEST_BODY). So API Gateway refuses only what the handler would
 * refuse with that same answer: a body that is not JSON at all, on the routes whose dialect answers it
 * `400 {code: "BadRequest", message}` (Triton) and whose body is required and JSON-only (the route
 * table's body schemas, lambdas/openapi/operations.ts). The model is then "any JSON value": field types,
 * required and unknown fields stay with the zod schemas in the handlers, which name every bad field.
 * IMS answers malformed JSON with IMG.0001 in its own shape, UForge reads XML too: neither gets a model.
 */
import { type Dialect, routes } from '../routes';
import { OPERATION_DOCS } from './operations';

/** The dialects whose handlers answer a body that is not JSON exactly as the BAD_REQUEST_BODY gateway response does. */
export const JSON_GATE_DIALECTS: readonly Dialect[] = ['triton'];

const modelled = (operation: string): boolean => {
  const route = routes.find((r) => r.operation === operation);
  const body = OPERATION_DOCS[operation]?.body;
  return !!route && JSON_GATE_DIALECTS.includes(route.dialect) && !!body && body.required === true && !body.xmlRoot;
};

/** The operations that get a body model. */
export const MODELLED_OPERATIONS: readonly string[] = routes.map((r) => r.operation).filter(modelled);

/** The draft-4 model of an operation's body (any JSON value), or undefined when it has none. */
export function requestBodyModel(operation: string): Record<string, unknown> | undefined {
  if (!modelled(operation)) return undefined;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: `${operation}Body`,
    description: 'Any JSON value: the handler checks its fields (lambdas/openapi/request-models.ts).',
  };
}

/** The media type API Gateway picks a model by: the Content-Type's, or application/json when there is none. */
export const modelContentType = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0].trim().toLowerCase() || 'application/json';
