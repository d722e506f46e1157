/**
 * One jest run for the whole suite. NestJS 12 and commander 15 ship ESM only, so swc transforms
 * both our TypeScript and their JavaScript into CommonJS for jest.
 * Integration tests share one Temporal dev server and one database, prepared in
 * globalSetup. `npm test` runs the specs beside the code on two workers (`test:unit`: each makes
 * its own ids, tenants, task queues and time-skipping servers) and then the e2e tests serially
 * (`test:e2e`: whole stacks, crash and chaos runs, timings a second worker would disturb).
 * @type {import('jest').Config}
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/*.spec.ts', '**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.data/', '/.tools/'],
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|commander|jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
};
