import { configDefaults, defineConfig } from 'vitest/config';

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
          // the kind executor needs docker and the test-bed image: it runs in the testbed project
          exclude: [...configDefaults.exclude, 'test/executors/kind.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Real Kubernetes v1.34.3 (kubeadm, kube-apiserver, etcd, ...): `npm run test:k8s`. The first run builds the
        // toolchain into a cache outside the work tree (scripts/toolchain/build.sh: ~20 min on an idle 2-core machine,
        // 5 s when cached); hookTimeout covers a cold build started from the tests' beforeAll.
        test: {
          name: 'k8s',
          include: ['test/k8s/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 90 * 60_000,
        },
      },
      {
        // Real hosts as systemd containers with sshd on a private docker network (test/testbed/testbed.ts):
        // `npm run test:testbed`; `npm run testbed:setup` (root) prepares docker, the host image and the bundle.
        test: {
          name: 'testbed',
          // with the kind executor's conformance run in a test-bed host container
          include: ['test/testbed/**/*.test.ts', 'test/executors/kind.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // one file at a time: each boots several systemd containers on a 2-core machine
          fileParallelism: false,
        },
      },
      {
        // The REST service: routes through app.request(), SQLite store, SSE, auth and redaction, and one test that
        // runs the real server process (kill -9 mid-install, restart, resume): `npm run test:api`.
        test: {
          name: 'api',
          include: ['test/api/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The install console in a real browser: Debian's chromium driven by playwright-core against the built page
        // (dist/console) and the API on loopback; screenshots in test-results/console/: `npm run test:console`
        // (scripts/setup-console.sh installs chromium and builds). One browser, one file at a time.
        test: {
          name: 'console',
          include: ['test/console/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        // The package as its users get it: npm pack, installed into empty projects (test/consumer/setup.ts, shared by
        // every file), the examples type-checked and run against it, what each subpath import loads, the public API
        // surface against api/surface.txt, the API reference (docs/api, `npm run docs:check`): `npm run test:consumer`.
        test: {
          name: 'consumer',
          include: ['test/consumer/**/*.test.ts'],
          globalSetup: ['test/consumer/setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // the conformance run in the custom-executor example is timing-sensitive: one file at a time
          fileParallelism: false,
        },
      },
      {
        // The REST API under schemathesis (PyPI), server and fuzzer in a loopback-only network namespace, fixed seed,
        // bounded examples and time: `npm run test:fuzz` (root).
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 900_000,
        },
      },
      {
        // End to end on the test bed's host-containers: the plan applied over SSH by the runner, then faults
        // (backend down, MASTER stopped/killed, failing keepalived check): `npm run test:e2e:lb`. Each test sets its
        // own bound; one file at a time (several systemd containers each, on a 2-core machine).
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The offline bundle on the test bed: a bundle of real .debs and `docker save` archives verified, uploaded
        // over ssh to 3 host-containers (one connection killed mid-upload and resumed), installed, images imported
        // into containerd: `npm run test:bundle` (root; test/bundle/setup.sh downloads the .debs once).
        test: {
          name: 'bundle',
          include: ['test/bundle/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The real offline supply (scripts/supply/build.sh: packages and images built here from upstream source):
        // verified, installed with dpkg on a bare host container, imported into its containerd, and a kubeadm init
        // from our rendered config: `npm run test:supply` (root; builds or finds the cached supply first).
        test: {
          name: 'supply',
          include: ['test/supply/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
