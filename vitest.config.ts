import { defineConfig } from 'vitest/config';

// `pnpm test`: unit tests beside the code and integration tests that run the built executable against local HTTP
// servers. Node only: nothing here needs the provisioned third-party tools (those are in vitest.e2e.config.ts).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/support/*.test.ts', 'test/chart/**/*.test.ts'],
    exclude: ['test/support/harness.test.ts', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
