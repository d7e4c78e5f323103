// npm run bench: speed and memory goals, measured (never asserted in tests). Prints one line per measurement.
import { performance } from 'node:perf_hooks';
import { renderCluster } from '../src/generators/index.js';
import { buildPlan } from '../src/plan/index.js';
import { loadFixture, testInputs } from '../test/support/fixtures.js';
import { benchRunnerOverhead, benchSshFanout } from './ssh.js';
import { benchApi } from './api.js';
import { benchConsole } from './console.js';
import { benchBundle } from './bundle.js';
import { benchAnsible } from './ansible.js';
import { benchInstall } from './cluster.js';
import { benchCliStartup } from './cli.js';
import { benchScale, bigClusterSpec } from './scale.js';
import { benchCA } from './ca.js';
import { goalTable } from './goals.js';

function measure(name: string, runs: number, fn: () => unknown): void {
  fn(); // warm up
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const times: number[] = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
    peak = Math.max(peak, process.memoryUsage().heapUsed - heap0);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)]!;
  const max = times[times.length - 1]!;
  console.log(`${name.padEnd(44)} p50 ${p50.toFixed(1).padStart(8)} ms   max ${max.toFixed(1).padStart(8)} ms   heap +${(peak / 1048576).toFixed(1)} MB   rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);
}

// the CLI from a cold process (bench/cli.ts)
benchCliStartup();

const inputs = testInputs();
const ha = loadFixture('runbook-ha');
measure('render runbook-ha (4 hosts)', 50, () => renderCluster(ha, inputs));
measure('plan runbook-ha', 50, () => buildPlan(ha, inputs));

// parse+validate, render and plan at 100, 500, 1000 and 2000 hosts: time and heap per host (bench/scale.ts)
benchScale(inputs);

// a new cluster's CA: ECDSA-P256 (the default) against RSA-2048 (bench/ca.ts)
await benchCA();

// the runner's own cost per step (500-host plan, dry-run) and SSH fan-out to 1/5/10 host-containers (bench/ssh.ts)
await benchRunnerOverhead(bigClusterSpec(500), inputs);
await benchSshFanout();

// the REST service: POST latency/throughput and SSE fan-out over loopback (bench/api.ts)
await benchApi();

// the install console: navigation to the list of 100 installs on screen, in chromium (bench/console.ts)
await benchConsole();

// the offline bundle: upload throughput to 1 and 3 test-bed hosts vs scp, sha256 speed (bench/bundle.ts)
await benchBundle();

// Ansible side by side on the same test-bed hosts: `true` on 1/10 hosts, a 100 MiB copy to 3, a 20-template
// playbook with a restart against our plan doing the same (bench/ansible.ts)
await benchAnsible();

// the whole offline HA install on node containers: wall time vs the plan's critical path (bench/cluster.ts)
await benchInstall();

// every goal measured above, with its target, in one table
console.log(goalTable());
