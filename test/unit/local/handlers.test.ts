import { existsSync } from 'node:fs';
import path from 'node:path';
import { BUILD_TASKS, PROVISION_TASKS, routes, taskEntry } from '../../../lambdas/routes';
import { handlers } from '../../../local/handlers';
import { EXECUTION_ENDED_ENTRY } from '../../../lib/constructs/execution-failures';
import { JOB_STREAM_ENTRY } from '../../../lib/constructs/job-events';
import { OLDEST_CREATING_ENTRY } from '../../../lib/constructs/monitoring';
import { compileRoutes, matchRoute } from '../../../local/gateway';

describe('local handler map', () => {
  const entries = [
    ...routes.map((r) => r.entry),
    ...BUILD_TASKS.map(taskEntry),
    ...PROVISION_TASKS.map(taskEntry),
    'auth/authorizer.ts',
    EXECUTION_ENDED_ENTRY,
    JOB_STREAM_ENTRY,
    OLDEST_CREATING_ENTRY,
  ];

  it.each(entries)('has a handler for %s, and the entry file exists', (entry) => {
    expect(handlers[entry]).toBeDefined();
    expect(existsSync(path.join(__dirname, '../../../lambdas', entry))).toBe(true);
  });

  it('maps nothing that is not in the route table or the workflow', () => {
    expect(Object.keys(handlers).sort()).toEqual([...new Set(entries)].sort());
  });
});

describe('local gateway route matching', () => {
  const compiled = compileRoutes(routes);

  it('matches path parameters and methods', () => {
    const m = matchRoute(compiled, 'GET', '/demo/images/abc');
    expect('route' in m && m.route?.operation).toBe('GetImage');
    expect('pathParameters' in m && m.pathParameters).toEqual({ login: 'demo', id: 'abc' });
    expect(matchRoute(compiled, 'DELETE', '/--ping')).toEqual({ pathMatched: true });
    expect(matchRoute(compiled, 'GET', '/demo/nothing/here/at/all')).toEqual({ pathMatched: false });
  });

  it('does not let a segment parameter swallow slashes', () => {
    const m = matchRoute(compiled, 'GET', '/demo/images/a/b');
    expect('route' in m).toBe(false);
  });
});
