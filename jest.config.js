/**
 * Two projects: fast tests with no servers (unit, infra) and integration tests that talk real HTTP
 * to one embedded local stack, started once per run by the integration project's globalSetup.
 * middy 7 is ESM-only: the mapping points jest at its file and @swc/jest turns it into CommonJS.
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  moduleNameMapper: { '^@middy/([^/]+)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  setupFiles: ['<rootDir>/test/helpers/polyfills.ts'],
};

module.exports = {
  // Tests assert results, never speed: a generous per-test limit keeps a loaded CI machine from failing
  // a correct test that streams tens of MiB through the local S3 (speed is measured by npm run bench).
  // (A global option: jest ignores it inside a project.)
  testTimeout: 30_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...shared, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-setup.ts'],
    },
  ],
};
