import { defineConfig } from 'vitest/config';

// `pnpm test:e2e`: the real registry binaries, crane, moto and the reference helper, provisioned into .tools/ by
// scripts/provision.mjs. One file at a time: each starts its own stack of processes on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts', 'test/support/harness.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
