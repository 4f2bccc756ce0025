import { defineConfig } from 'vitest/config';

// One config for the whole repository. End-to-end tests (test/e2e) start real node processes, so files
// run with little parallelism: this machine class has two cores.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
