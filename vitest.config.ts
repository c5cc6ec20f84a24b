import { defineConfig } from 'vitest/config';

// Each test file gets its own process: chDB allows one data directory per process and
// keeps engine state for the life of the process.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
