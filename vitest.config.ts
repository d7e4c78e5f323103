import { defineConfig } from 'vitest/config';

// Test tiers. `unit` is the fast loop (pure code, goldens, CLI); `tools` runs the real programs that read our
// files (haproxy, keepalived, containerd) and needs scripts/setup-tools.sh first. Later tiers add themselves here.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'tools',
          include: ['test/tools/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
