// npm run bench (scale part): parse+validate, render and plan of a generated spec at 100, 500, 1000 and 2000 hosts,
// each as the p50 time (wall and CPU), the time per host and the heap the result keeps per host, so that growth
// faster than the host count shows as a rising per-host figure. Goal (issue 13): plan of 500 hosts < 250 ms, linear to 2000.
// Measured, never asserted. Alone: `npx tsx bench/scale.ts [SIZES]`, e.g. `npx tsx bench/scale.ts 500,2000`.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { renderCluster } from '../src/generators/index.js';
import type { RenderInputs } from '../src/generators/types.js';
import { buildPlan } from '../src/plan/index.js';
import { parseSpec } from '../src/spec/load.js';
import type { ClusterSpec } from '../src/spec/schema.js';
import { testInputs } from '../test/support/fixtures.js';
import { goal } from './goals.js';

export const SCALE_SIZES = [100, 500, 1000, 2000];

/** An n-host spec: 3 control planes (2 of them load balancers), n-3 workers of which every 5th has 8 GPUs. */
export function bigSpec(n: number): string {
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

/** The spec of bigSpec(n), validated. */
export function bigClusterSpec(n: number): ClusterSpec {
  const parsed = parseSpec(bigSpec(n));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues.slice(0, 5)));
  return parsed.spec;
}

/** gc(), exposed at run time when node was started without --expose-gc (the retained heap needs it). */
function collector(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface Row {
  p50Ms: number;
  /** the process's CPU time (user + system, GC threads included): steadier than wall time on a shared machine */
  cpuP50Ms: number;
  retainedBytes: number;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * p50 of `runs` timed calls after one warm-up, and the heap the result of one call keeps reachable. Each call starts
 * from a collected heap, so it pays for collecting its own garbage and not for the call before it (a 2000-host plan
 * leaves ~100 MB: measured without this, its CPU per host against 500 hosts read 1.01, 1.14 and 1.33 in three runs).
 */
function time(runs: number, fn: () => unknown, gc: () => void): Row {
  fn();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const t = performance.now();
    const c = process.cpuUsage();
    fn();
    const dc = process.cpuUsage(c);
    times.push(performance.now() - t);
    cpu.push((dc.user + dc.system) / 1000);
  }
  return { p50Ms: p50(times), cpuP50Ms: p50(cpu), retainedBytes: p50([retained(fn, gc), retained(fn, gc), retained(fn, gc)]) };
}

const held: { results?: unknown[] } = {};

/**
 * The heap two results keep reachable, per result: the heap after full collections while they are held, less the
 * heap once they are let go. Measured that way round because a result held "before" by a dead variable of a frame
 * still running is counted on both sides (seen: 0 bytes for a 500-host plan); made in a frame of its own for the same
 * reason. One reading in a few still counts one result more or less (seen: 5.7, 11.4 or 17.1 KiB/host for the same
 * plan): the caller takes the median of three.
 */
function retained(fn: () => unknown, gc: () => void): number {
  const settle = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const hold = () => {
    held.results = [fn(), fn()];
  };
  hold();
  const holding = settle();
  const n = held.results!.length;
  held.results = undefined;
  return Math.max(0, holding - settle()) / n;
}

/** Fewer runs for bigger specs: about the same time per size. */
const runsFor = (n: number) => (n <= 100 ? 20 : n <= 500 ? 10 : 5);

export function benchScale(inputs: RenderInputs = testInputs(), sizes: readonly number[] = SCALE_SIZES): void {
  const gc = collector();
  const perHost = new Map<string, { n: number; usPerHost: number; cpuUsPerHost: number }[]>();
  for (const n of sizes) {
    const text = bigSpec(n);
    const spec = bigClusterSpec(n);
    const files = renderCluster(spec, inputs);
    const mb = files.reduce((s, f) => s + f.content.length, 0) / 1048576;
    const ops: [string, () => unknown, string][] = [
      ['parse+validate', () => parseSpec(text), ''],
      ['render', () => renderCluster(spec, inputs), `  (${files.length} files, ${mb.toFixed(1)} MB)`],
      ['plan', () => buildPlan(spec, inputs), ''],
    ];
    for (const [op, fn, note] of ops) {
      const r = time(runsFor(n), fn, gc);
      const usPerHost = (r.p50Ms * 1000) / n;
      perHost.set(op, [...(perHost.get(op) ?? []), { n, usPerHost, cpuUsPerHost: (r.cpuP50Ms * 1000) / n }]);
      if (op === 'plan' && n === 500) goal('plan a 500-host spec: p50', r.p50Ms, 250, 'max');
      console.log(
        `${`scale: ${op} ${n} hosts`.padEnd(44)} p50 ${r.p50Ms.toFixed(1).padStart(8)} ms   ${usPerHost.toFixed(0).padStart(5)} µs/host   cpu ${r.cpuP50Ms.toFixed(0).padStart(6)} ms   heap ${(r.retainedBytes / 1024 / n).toFixed(1).padStart(6)} KiB/host${note}`,
      );
    }
  }
  // linear work keeps the time per host flat: the ratio of the largest size's to a smaller one's is ~1 (not more).
  // From the second size when there are three or more: at 100 hosts the cluster-wide work (addons, the first control
  // plane) still weighs on the time per host, which would make growth look smaller than it is.
  for (const [op, rows] of perHost) {
    if (rows.length < 2) continue;
    const first = rows[rows.length > 2 ? 1 : 0]!;
    const last = rows[rows.length - 1]!;
    console.log(
      `${`scale: ${op} per host, ${last.n} / ${first.n} hosts`.padEnd(44)} x${(last.usPerHost / first.usPerHost).toFixed(2)} wall, x${(last.cpuUsPerHost / first.cpuUsPerHost).toFixed(2)} cpu (linear: ~1)`,
    );
    // linear within a quarter: CPU time, since wall time on a shared machine swings more than that
    if (op !== 'parse+validate') goal(`${op}: CPU per host, ${last.n} / ${first.n} hosts`, last.cpuUsPerHost / first.cpuUsPerHost, 1.25, 'max', 'x');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = process.argv[2];
  benchScale(testInputs(), arg ? arg.split(',').map(Number) : SCALE_SIZES);
}
