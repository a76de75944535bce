/**
 * API Gateway's request-body validation, for the local gateway (local/gateway.ts): a method whose
 * request validator validates bodies checks the body against the model of the request's content type
 * (lib/local-template.ts reads them from the synthesized template; lambdas/openapi/request-models.ts
 * makes them), as API Gateway does:
 *   - the model is picked by the Content-Type's media type, `application/json` when the request has
 *     none; no model for that type: no validation (the handler reads the body);
 *   - a body that is not JSON, or does not match the model, is refused with 400 BAD_REQUEST_BODY.
 * An empty body is left to the handler (every modelled route's handler refuses it in its dialect's
 * shape); see docs/decisions/operations-checks.md for this one unverified edge.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { modelContentType } from '../lambdas/openapi/request-models';

const ajv = new Ajv({ strict: false, allErrors: false });
const compiled = new WeakMap<object, ValidateFunction>();

const validatorOf = (schema: Record<string, unknown>): ValidateFunction => {
  let fn = compiled.get(schema);
  if (!fn) {
    // draft 4's meta-schema is not ajv 8's; the models use only keywords draft 4 and 7 read alike
    const { $schema: _draft, ...rest } = schema;
    fn = ajv.compile(rest);
    compiled.set(schema, fn);
  }
  return fn;
};

/** Why API Gateway would refuse this body (for the log), or undefined when it lets it through. */
export function bodyRefusal(
  models: Record<string, Record<string, unknown>> | undefined,
  contentType: string | undefined,
  body: Buffer,
): string | undefined {
  if (!models || body.length === 0) return undefined;
  const model = models[modelContentType(contentType)];
  if (!model) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'Invalid request body';
  }
  const validate = validatorOf(model);
  return validate(value) ? undefined : `Invalid request body: ${ajv.errorsText(validate.errors)}`;
}
