/** @type {import('jest').Config} */
module.exports = {
  // Each test file gets its own TMPDIR, removed when the file ends; leftovers fail the file.
  testEnvironment: '<rootDir>/test/support/test-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking happens once, in `tsc --noEmit` (npm test); jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
