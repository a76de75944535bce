/**
 * The OpenAPI 3.1 document of the whole API, generated from the route table (lambdas/routes.ts) and
 * the operations' zod schemas (lambdas/openapi/operations.ts, converted with zod's own `z.toJSONSchema`):
 * one document, a tag per dialect, the four authentication schemes the authorizer accepts
 * (lambdas/auth/authorizer.ts) — any one of them on every `caller` route, none on `none` routes — and
 * each dialect's error body. `npm run openapi` writes it to docs/openapi.json, which
 * `GET /--openapi.json` serves; test/unit/openapi.test.ts fails when that file is stale.
 */
import * as z from 'zod';
import type { Dialect, Route } from '../routes';
import { OPERATION_DOCS, type OperationDoc } from './operations';

type Json = Record<string, unknown>;

const TAGS: Record<Dialect, { name: string; description: string }> = {
  triton: {
    name: 'Triton CloudAPI',
    description: 'Images, machines and jobs as Triton CloudAPI (the `triton` CLI). Errors: `{code, message}`.',
  },
  ims: { name: 'Huawei IMS', description: 'Huawei Image Management Service. Errors: `{"error": {"code": "IMG.xxxx", "message"}}`.' },
  uforge: {
    name: 'UForge',
    description:
      'UForge appliances and machine images; XML by default, JSON with `Accept`/`Content-Type: application/json`. Errors: `uforgeError`.',
  },
  service: { name: 'Service', description: 'The service itself: liveness and this description.' },
};

const ERROR_SCHEMAS: Record<Dialect, Json> = {
  triton: {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: { type: 'string' },
      message: { type: 'string' },
      errors: {
        type: 'array',
        items: { type: 'object', properties: { field: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } },
      },
    },
  },
  ims: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', pattern: '^IMG\\.' }, message: { type: 'string' } },
      },
    },
  },
  uforge: {
    type: 'object',
    required: ['uforgeError'],
    properties: {
      uforgeError: {
        type: 'object',
        properties: {
          statusCode: { type: 'integer' },
          requestMethod: { type: 'string' },
          requestUri: { type: 'string' },
          timestamp: { type: 'integer' },
          localizedErrorMsg: { type: 'object', properties: { message: { type: 'string' } } },
        },
      },
    },
  },
  service: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
};

export const SECURITY_SCHEMES: Json = {
  httpSignature: {
    type: 'http',
    scheme: 'Signature',
    description:
      'SSH HTTP Signature (the `triton` CLI): `Authorization: Signature keyId="/<login>/keys/<md5 fingerprint>",algorithm="rsa-sha256|ed25519-sha512|ecdsa-sha256",headers="(request-target) date",signature=…` with a `Date` within 5 minutes.',
  },
  basicAuth: { type: 'http', scheme: 'basic', description: 'Login and password (UForge clients, curl).' },
  apiToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Auth-Token',
    description: 'An API token (`POST /{login}/tokens` or `admin token create`); `Authorization: Bearer <token>` works too.',
  },
  akSk: {
    type: 'http',
    scheme: 'SDK-HMAC-SHA256',
    description:
      'Huawei AK/SK signing: `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=…, Signature=…` with `X-Sdk-Date` within 5 minutes; the body is covered by the signature.',
  },
};
const ANY_CALLER = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));

/** A zod schema as the JSON Schema (2020-12, which OpenAPI 3.1 uses) of what a client sends. */
export function inputSchema(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

const pathParams = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);

function operationObject(route: Route, doc: OperationDoc): Json {
  const parameters: Json[] = pathParams(route.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  if (doc.query) {
    const q = inputSchema(doc.query) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({
        name,
        in: 'query',
        required: (q.required ?? []).includes(name),
        schema: rest,
        ...(description ? { description } : {}),
      });
    }
  }
  const status = String(doc.status ?? 200);
  const success: Json = { description: doc.summary };
  if (status !== '204' && status !== '302' && route.dialect !== 'service') success.content = { 'application/json': { schema: {} } };
  if (route.operation === 'Ping' || route.operation === 'GetOpenApi')
    success.content = { 'application/json': { schema: { type: 'object' } } };
  const op: Json = {
    operationId: route.operation,
    summary: doc.summary,
    tags: [TAGS[route.dialect].name],
    security: route.auth === 'none' ? [] : ANY_CALLER,
    ...(parameters.length ? { parameters } : {}),
    responses: {
      [status]: success,
      default: {
        description: `An error, in the ${TAGS[route.dialect].name} shape`,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.dialect}Error` } } },
      },
    },
  };
  if (doc.body) {
    const schema = inputSchema(doc.body.schema);
    const examples = Object.fromEntries(Object.entries(doc.body.examples).map(([name, value]) => [name, { value }]));
    const content: Json = { 'application/json': { schema, examples } };
    if (doc.body.xmlRoot)
      content['application/xml'] = {
        schema: { ...schema, xml: { name: doc.body.xmlRoot, namespace: 'http://www.usharesoft.com/uforge' } },
      };
    op.requestBody = { required: doc.body.required ?? false, content };
  }
  return op;
}

export function openApiDocument(routes: readonly Route[], docs: Record<string, OperationDoc> = OPERATION_DOCS): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const doc = docs[route.operation];
    if (!doc) throw new Error(`no OpenAPI description for operation ${route.operation} (lambdas/openapi/operations.ts)`);
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = operationObject(route, doc);
  }
  const dialects = [...new Set(routes.map((r) => r.dialect))];
  return {
    openapi: '3.1.0',
    info: {
      title: 'machine-image-service',
      version: '0.1.0',
      description:
        'Machine images from machines, in three wire dialects (Triton CloudAPI, Huawei IMS, UForge) on one core. Job state changes are also published as EventBridge events (docs/events/image-job-state-change.schema.json).',
      license: { name: 'MPL-2.0', identifier: 'MPL-2.0' },
    },
    tags: dialects.map((d) => TAGS[d]),
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: Object.fromEntries(dialects.map((d) => [`${d}Error`, ERROR_SCHEMAS[d]])),
    },
  };
}

/** The document as `npm run openapi` writes it (stable key order, trailing newline). */
export const openApiText = (routes: readonly Route[]): string => `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
