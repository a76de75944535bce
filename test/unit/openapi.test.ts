/**
 * The OpenAPI document (lambdas/openapi/document.ts, written to docs/openapi.json by `npm run openapi`):
 * it describes every route of the table and nothing else, docs/openapi.json is what the generator makes
 * today, every example request body validates against the document's own schema for it (ajv, JSON
 * Schema 2020-12 as OpenAPI 3.1 uses) and against the zod schema the handler parses with, and the auth
 * schemes match the route table.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { routes } from '../../lambdas/routes';
import { openApiDocument, openApiText } from '../../lambdas/openapi/document';
import { OPERATION_DOCS } from '../../lambdas/openapi/operations';

type Json = Record<string, any>;
const FILE = path.join(__dirname, '..', '..', 'docs', 'openapi.json');
const doc = openApiDocument(routes) as Json;
const operations: [string, string, Json][] = Object.entries(doc.paths as Json).flatMap(([p, methods]) =>
  Object.entries(methods as Json).map(([m, op]) => [p, m, op as Json] as [string, string, Json]),
);
/** POST/PUT/PATCH routes whose handlers read no body. */
const BODYLESS = new Set(['CreateToken', 'UforgeRegenerateImage', 'UforgeRegenerateImagePut']);

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with a tag per dialect', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect((doc.tags as Json[]).map((t) => t.name).sort()).toEqual(['Huawei IMS', 'Service', 'Triton CloudAPI', 'UForge']);
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('describes %s with its operationId', (_name, route) => {
    const op = doc.paths[route.path]?.[route.method.toLowerCase()];
    expect(op).toBeDefined();
    expect(op.operationId).toBe(route.operation);
    expect(op.security).toEqual(route.auth === 'none' ? [] : [{ httpSignature: [] }, { basicAuth: [] }, { apiToken: [] }, { akSk: [] }]);
    for (const name of [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
      expect(op.parameters).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
    }
  });

  it('describes nothing that is not in the route table, and documents no operation twice', () => {
    expect(operations.map(([p, m]) => `${m.toUpperCase()} ${p}`).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(Object.keys(OPERATION_DOCS).sort()).toEqual([...new Set(routes.map((r) => r.operation))].sort());
  });

  it('fails to generate when an operation has no description', () => {
    expect(() => openApiDocument([...routes, { ...routes[0], path: '/--new', operation: 'Undescribed' }])).toThrow(/Undescribed/);
  });

  it('declares the four authentication schemes', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['akSk', 'apiToken', 'basicAuth', 'httpSignature']);
  });

  it('docs/openapi.json is what `npm run openapi` writes today', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(openApiText(routes));
  });

  it('every POST, PUT and PATCH route that reads a body documents it with examples', () => {
    for (const route of routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && !BODYLESS.has(r.operation))) {
      const body = doc.paths[route.path][route.method.toLowerCase()].requestBody;
      expect({ operation: route.operation, examples: Object.keys(body?.content?.['application/json']?.examples ?? {}).length > 0 }).toEqual(
        { operation: route.operation, examples: true },
      );
    }
  });

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const examples = operations.flatMap(([, , op]) =>
    Object.entries((op.requestBody?.content?.['application/json']?.examples ?? {}) as Record<string, { value: unknown }>).map(
      ([name, ex]) => [`${op.operationId}: ${name}`, op, ex.value] as const,
    ),
  );

  it.each(examples)('example %s validates against its schema in the document and parses with the handler schema', (_name, op, value) => {
    const validate = ajv.compile(op.requestBody.content['application/json'].schema);
    expect({ valid: validate(value), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    const parsed = OPERATION_DOCS[op.operationId].body!.schema.safeParse(value);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('an example that breaks its schema is caught (the check can fail)', () => {
    const op = doc.paths['/{login}/images'].post;
    const validate = ajv.compile(op.requestBody.content['application/json'].schema);
    expect(validate({ name: 'x', version: '1' })).toBe(false);
    expect(validate({ machine: 'not-a-uuid', name: 'x', version: '1' })).toBe(false);
  });
});
