import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Starts the dev Kafka broker when a selected test needs it (test/kafka/).
    globalSetup: ['./test/support/kafka-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
