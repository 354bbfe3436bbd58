import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The default reporter does not say which tests were skipped or why: skip-reasons lists them.
    reporters: ['default', './test/reporters/skip-reasons.ts'],
  },
});
