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
      {
        // Executors against real targets: local processes and a real OpenSSH sshd started per run on 127.0.0.1
        // (`npm run test:executors`; scripts/setup-sshd.sh installs openssh-server, sudo and the test users).
        test: {
          name: 'executors',
          include: ['test/executors/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
