/** `npm run openapi`: writes the OpenAPI document (lambdas/openapi/document.ts) to docs/openapi.json. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { routes } from '../lambdas/routes';
import { openApiText } from '../lambdas/openapi/document';

const OPENAPI_FILE = path.join(__dirname, '..', 'docs', 'openapi.json');

writeFileSync(OPENAPI_FILE, openApiText(routes));
console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
