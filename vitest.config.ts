import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { componentCache } from './src/lab/envoy/binary.js';

export default defineConfig({
  // Vitest orders test files by their last durations, longest first, kept in this cache. Under
  // node_modules (the default) `npm ci` wipes it, and a new checkout would start the long lab files
  // in whatever order their sizes give; beside the component cache it outlives a checkout.
  cacheDir: join(componentCache(), 'vite'),
  test: {
    include: ['test/**/*.test.ts'],
    // A lab is a real control plane plus real Envoys (about 13 s to start alone, more when test
    // files run side by side on 2 cores): guards against hangs, not performance targets.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the CPUs (1 here, on 2 cores). Most of a lab test's
    // time is waiting on its control plane and Envoys, so three files run side by side.
    maxWorkers: 3,
    // The default reporter does not say which tests were skipped or why: skip-reasons lists them.
    reporters: ['default', './test/reporters/skip-reasons.ts'],
  },
});
