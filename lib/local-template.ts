/**
 * What the local stack reads from the synthesized template besides the ASL (lib/local-asl.ts), so that
 * it enforces the deployed stack's own numbers and wiring, never a second copy of them:
 *   - each Lambda function's `Timeout` and `MemorySize`, and its handler (the `entry` metadata that
 *     lib/constructs/service-function.ts writes on every function);
 *   - which function serves each API method (by `OperationName`) and the method's integration timeout
 *     (`Integration.TimeoutInMillis`, API Gateway's default of 29 s when absent), and the body models
 *     it validates against (`RequestModels`, when its `RequestValidator` validates bodies);
 *   - which function is the API's authorizer;
 *   - which function backs a Step Functions Task (its Resource ARN ends in the function's logical id);
 *   - EventBridge rules and their Lambda targets (the local Step Functions endpoint feeds its
 *     execution status events to them, see local/events.ts).
 */
import { ENTRY_METADATA } from './constructs/service-function';
import { resolveIntrinsics, type CfnTemplate, type LocalAslOptions } from './local-asl';

/** CloudFormation's defaults for AWS::Lambda::Function. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;
/** API Gateway's default (and, for Regional APIs without a quota increase, maximum) integration timeout. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

export interface TemplateFunction {
  logicalId: string;
  /** Handler file relative to `lambdas/` (as in lambdas/routes.ts), when the function was made by createServiceFunction. */
  entry?: string;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface TemplateRoute {
  /** The method's OperationName (the route table's `operation`). */
  operation: string;
  fn: TemplateFunction;
  integrationTimeoutMs: number;
  /** The JSON Schema (draft 4) of each content type whose body the method validates. */
  bodyModels?: Record<string, Record<string, unknown>>;
}

export interface TemplateRule {
  logicalId: string;
  /** The EventPattern with intrinsics resolved (state machine ARNs as the local endpoint names them). */
  pattern: Record<string, unknown>;
  targets: TemplateFunction[];
}

type Resource = NonNullable<CfnTemplate['Resources']>[string];

/** Every AWS::Lambda::Function of the template, by logical id. */
export function templateFunctions(template: CfnTemplate): Map<string, TemplateFunction> {
  const out = new Map<string, TemplateFunction>();
  for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const entry = r.Metadata?.[ENTRY_METADATA];
    out.set(logicalId, {
      logicalId,
      ...(typeof entry === 'string' ? { entry } : {}),
      timeoutSeconds: Number(r.Properties?.Timeout ?? DEFAULT_TIMEOUT_SECONDS),
      memoryMb: Number(r.Properties?.MemorySize ?? DEFAULT_MEMORY_MB),
    });
  }
  return out;
}

/** The first `Fn::GetAtt [<a Lambda function>, Arn]` inside a value (an integration URI, a target ARN). */
function functionIn(value: unknown, functions: Map<string, TemplateFunction>): TemplateFunction | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = functionIn(v, functions);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const [id, attribute] = typeof getAtt === 'string' ? getAtt.split('.') : (getAtt as [string, string]);
    if (attribute === 'Arn' && functions.has(id)) return functions.get(id);
  }
  return functionIn(Object.values(value), functions);
}

const ofType = (template: CfnTemplate, type: string): [string, Resource][] =>
  Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type);

/** The function behind each API method, by operation, with the method's integration timeout. */
export function templateRoutes(template: CfnTemplate): Map<string, TemplateRoute> {
  const functions = templateFunctions(template);
  const out = new Map<string, TemplateRoute>();
  for (const [logicalId, method] of ofType(template, 'AWS::ApiGateway::Method')) {
    const operation = method.Properties?.OperationName;
    const integration = method.Properties?.Integration as { Uri?: unknown; TimeoutInMillis?: number } | undefined;
    const fn = functionIn(integration?.Uri, functions);
    if (typeof operation !== 'string' || !fn)
      throw new Error(`${logicalId}: an API method needs an OperationName and a Lambda integration`);
    const bodyModels = methodBodyModels(template, logicalId, method);
    out.set(operation, {
      operation,
      fn,
      integrationTimeoutMs: Number(integration?.TimeoutInMillis ?? DEFAULT_INTEGRATION_TIMEOUT_MS),
      ...(bodyModels && { bodyModels }),
    });
  }
  return out;
}

const refOf = (value: unknown): string | undefined =>
  value && typeof value === 'object' && typeof (value as { Ref?: unknown }).Ref === 'string' ? (value as { Ref: string }).Ref : undefined;

/** A method's models by content type, when its request validator validates bodies (else API Gateway checks none). */
function methodBodyModels(template: CfnTemplate, logicalId: string, method: Resource): Record<string, Record<string, unknown>> | undefined {
  const models = method.Properties?.RequestModels as Record<string, unknown> | undefined;
  const validatorId = refOf(method.Properties?.RequestValidatorId);
  if (!models || !validatorId) return undefined;
  const validator = template.Resources?.[validatorId];
  if (validator?.Type !== 'AWS::ApiGateway::RequestValidator')
    throw new Error(`${logicalId}: RequestValidatorId is not a request validator`);
  if (validator.Properties?.ValidateRequestBody !== true) return undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [contentType, model] of Object.entries(models)) {
    const resource = template.Resources?.[refOf(model) ?? ''];
    const schema = resource?.Type === 'AWS::ApiGateway::Model' ? resource.Properties?.Schema : undefined;
    if (!schema || typeof schema !== 'object') throw new Error(`${logicalId}: the ${contentType} model is not a Model with a Schema`);
    out[contentType.toLowerCase()] = schema as Record<string, unknown>;
  }
  return out;
}

/** The API's one Lambda authorizer. */
export function templateAuthorizer(template: CfnTemplate): TemplateFunction {
  const functions = templateFunctions(template);
  const found = ofType(template, 'AWS::ApiGateway::Authorizer').map(([, a]) => functionIn(a.Properties?.AuthorizerUri, functions));
  if (found.length !== 1 || !found[0]) throw new Error(`expected one Lambda authorizer, found ${found.length}`);
  return found[0];
}

/**
 * The function a Task state invokes, from its Resource as lib/local-asl.ts resolves it
 * (`arn:aws:lambda:<region>:<account>:function:<LogicalId>`); undefined for other resources.
 */
export function taskFunction(template: CfnTemplate, resource: string): TemplateFunction | undefined {
  const m = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)$/.exec(resource);
  return m ? templateFunctions(template).get(m[1]) : undefined;
}

/** Enabled EventBridge rules with their Lambda targets, patterns resolved (see LocalAslOptions.arns). */
export function templateRules(template: CfnTemplate, options: LocalAslOptions = {}): TemplateRule[] {
  const functions = templateFunctions(template);
  return ofType(template, 'AWS::Events::Rule')
    .filter(([, rule]) => rule.Properties?.State !== 'DISABLED' && rule.Properties?.EventPattern !== undefined)
    .map(([logicalId, rule]) => ({
      logicalId,
      pattern: resolveIntrinsics(rule.Properties?.EventPattern, template, options) as Record<string, unknown>,
      targets: ((rule.Properties?.Targets as { Arn: unknown }[] | undefined) ?? [])
        .map((t) => functionIn(t.Arn, functions))
        .filter((f): f is TemplateFunction => f !== undefined),
    }));
}

/** The function behind each Task state of a resolved definition (nested Parallel/Map states included), by state name. */
export function taskStateFunctions(
  template: CfnTemplate,
  definition: { States: Record<string, Record<string, unknown>> },
): Map<string, TemplateFunction> {
  const out = new Map<string, TemplateFunction>();
  const walk = (machine: { States?: Record<string, Record<string, unknown>> } | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (state.Type === 'Task') {
        const fn = taskFunction(template, String(state.Resource));
        if (fn) out.set(name, fn);
      }
      for (const branch of (state.Branches as (typeof machine)[] | undefined) ?? []) walk(branch);
      walk((state.ItemProcessor ?? state.Iterator) as typeof machine);
    }
  };
  walk(definition);
  return out;
}

export interface TemplateStreamConsumer {
  logicalId: string;
  fn: TemplateFunction;
  /** Lambda's filter patterns (parsed), any of which passes a record; none = every record. */
  filters: Record<string, unknown>[];
  batchSize: number;
  /** -1 = until the record expires. */
  maximumRetryAttempts: number;
  reportBatchItemFailures: boolean;
}

/** Event source mappings on a DynamoDB table's stream (the local stack feeds them, local/dynamo-stream.ts). */
export function templateStreamConsumers(template: CfnTemplate): TemplateStreamConsumer[] {
  const functions = templateFunctions(template);
  return ofType(template, 'AWS::Lambda::EventSourceMapping')
    .filter(([, m]) => JSON.stringify(m.Properties?.EventSourceArn ?? '').includes('StreamArn') && m.Properties?.Enabled !== false)
    .map(([logicalId, m]) => {
      const p = m.Properties ?? {};
      const name = p.FunctionName as { Ref?: string } | string | undefined;
      const fn = typeof name === 'object' && name?.Ref ? functions.get(name.Ref) : undefined;
      if (!fn) throw new Error(`${logicalId}: a stream event source mapping needs a function of this template`);
      const filters = ((p.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []).map(
        (f) => JSON.parse(f.Pattern) as Record<string, unknown>,
      );
      return {
        logicalId,
        fn,
        filters,
        batchSize: Number(p.BatchSize ?? 100),
        maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
        reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
      };
    });
}
