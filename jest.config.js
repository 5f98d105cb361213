/** @type {import('jest').Config} */
module.exports = {
  // Each test file gets its own TMPDIR, removed when the file ends; leftovers fail the file.
  testEnvironment: '<rootDir>/test/support/test-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking happens once, in `tsc --noEmit` (npm test); jest only transpiles: ts-jest takes
  // isolatedModules from tsconfig.json (its own option of that name is deprecated and warned about).
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
