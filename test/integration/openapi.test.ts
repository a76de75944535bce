/** `GET /--openapi.json` serves docs/openapi.json to anyone, through the gateway built from the route table. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/local-stack';

describe('GET /--openapi.json', () => {
  it('answers the OpenAPI document without credentials', async () => {
    const res = await api('GET', '/--openapi.json', undefined, { anonymous: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8')));
    expect(res.body.paths['/--openapi.json'].get.operationId).toBe('GetOpenApi');
  });
});
