import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shared,agent,backend,testkit,bench}/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['testkit/src/postgres/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits on real processes (a browser, a pusher that ticks each second): 1 s, vitest's default, is too short on a loaded runner.
    expect: { poll: { timeout: 10_000, interval: 100 } },
    pool: 'forks',
    // Most files wait on real processes and sockets rather than compute: two at a time on a
    // two-core runner (vitest's default in a run is one fewer than the cores).
    maxWorkers: 2,
  },
});
