import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The agent's tests alone, without the repository's PostgreSQL global setup: what CI
 * runs on macOS and Windows runners, where no PostgreSQL is installed.
 * `npx vitest run --config agent/vitest.config.ts`
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    include: ['src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
