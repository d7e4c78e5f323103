// npm run bench: speed and memory goals, measured (never asserted in tests). Prints one line per measurement.
import { performance } from 'node:perf_hooks';
import { renderCluster } from '../src/generators/index.js';
import { parseSpec } from '../src/spec/load.js';
import { buildPlan } from '../src/plan/index.js';
import { loadFixture, testInputs } from '../test/support/fixtures.js';
import { benchRunnerOverhead, benchSshFanout } from './ssh.js';
import { benchApi } from './api.js';
import { benchConsole } from './console.js';
import { benchBundle } from './bundle.js';
import { benchInstall } from './cluster.js';
import { benchCliStartup } from './cli.js';
import { benchCA } from './ca.js';

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

/** A 500-host spec: 3 control planes (2 LB), 497 workers of which every 5th has 8 GPUs. */
function bigSpec(n: number): string {
  const hosts = [
    '    - {name: cp1, address: 10.0.0.11, roles: [control-plane, load-balancer], interface: eth0}',
    '    - {name: cp2, address: 10.0.0.12, roles: [control-plane, load-balancer], interface: eth0}',
    '    - {name: cp3, address: 10.0.0.13, roles: [control-plane], interface: eth0}',
  ];
  for (let i = 0; i < n - 3; i++) {
    const a = 100 + i;
    const gpu = i % 5 === 0 ? ', gpu: {vendor: nvidia, count: 8}' : '';
    hosts.push(`    - {name: w${i}, address: 10.0.${Math.floor(a / 250) + 1}.${(a % 250) + 1}, roles: [worker], interface: eth0${gpu}}`);
  }
  return `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: big}
spec:
  hosts:
${hosts.join('\n')}
  controlPlane:
    endpoint: {host: 10.0.0.10, port: 6553}
    loadBalancer: {mode: keepalived-haproxy}
  network: {hostSubnet: 10.0.0.0/16, podSubnet: 10.244.0.0/16, serviceSubnet: 10.96.0.0/16}
`;
}

// the CLI from a cold process (bench/cli.ts)
benchCliStartup();

const inputs = testInputs();
const ha = loadFixture('runbook-ha');
measure('render runbook-ha (4 hosts)', 50, () => renderCluster(ha, inputs));
measure('plan runbook-ha', 50, () => buildPlan(ha, inputs));
const text = bigSpec(500);
const parsed = parseSpec(text);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues.slice(0, 5)));
measure('parse+validate 500-host spec', 10, () => parseSpec(text));
measure('render 500-host spec', 10, () => renderCluster(parsed.spec, inputs));
measure('plan 500-host spec', 10, () => buildPlan(parsed.spec, inputs));
const files = renderCluster(parsed.spec, inputs);
console.log(`500-host spec: ${files.length} files, ${(files.reduce((n, f) => n + f.content.length, 0) / 1048576).toFixed(1)} MB rendered`);

// a new cluster's CA: ECDSA-P256 (the default) against RSA-2048 (bench/ca.ts)
await benchCA();

// the runner's own cost per step (500-host plan, dry-run) and SSH fan-out to 1/5/10 host-containers (bench/ssh.ts)
await benchRunnerOverhead(parsed.spec, inputs);
await benchSshFanout();

// the REST service: POST latency/throughput and SSE fan-out over loopback (bench/api.ts)
await benchApi();

// the install console: navigation to the list of 100 installs on screen, in chromium (bench/console.ts)
await benchConsole();

// the offline bundle: upload throughput to 1 and 3 test-bed hosts vs scp, sha256 speed (bench/bundle.ts)
await benchBundle();

// the whole offline HA install on node containers: wall time vs the plan's critical path (bench/cluster.ts)
await benchInstall();
