// npm run bench (executor and runner part), called from bench/run.ts:
// - the runner's own overhead per step: a 500-host plan run with probes off (every step performed, nothing waits on
//   a host) over a null executor and over the dry-run executor; wall time / step count.
// - SSH fan-out: `true` on 1, 5 and 10 host-containers of the test bed (real sshd) through the SSH executor. The
//   connections are set up first (that time is reported separately), then each fan-out runs 30 times; p50 wall time
//   and its ratio to the single-host p50. Needs the test bed (`npm run testbed:setup`, root); skipped with a message
//   when it is not prepared.
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DryRunExecutor } from '../src/executors/dry-run/dry-run.js';
import type { Executor, RunResult } from '../src/executors/executor.js';
import { SshExecutor } from '../src/executors/ssh/ssh.js';
import { renderView } from '../src/generators/index.js';
import { outputPath, type RenderInputs } from '../src/generators/types.js';
import { planFor } from '../src/plan/build.js';
import type { Plan } from '../src/plan/types.js';
import { MemoryJournal } from '../src/runner/journal.js';
import { percentile } from './stats.js';
import { secretValues } from '../src/runner/redact.js';
import { runPlan } from '../src/runner/runner.js';
import { deriveView } from '../src/spec/derive.js';
import type { ClusterSpec } from '../src/spec/schema.js';
import { createTestbed, readManifest, runLocal, type Testbed } from '../test/testbed/testbed.js';
import { goal } from './goals.js';

const ms = (n: number) => `${n.toFixed(1).padStart(8)} ms`;

/** An executor that answers every command with success at once: what remains is the runner's own work. */
class NullExecutor implements Executor {
  constructor(readonly host: string) {}
  async run(): Promise<RunResult> {
    return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 0 };
  }
  async close(): Promise<void> {}
}

/**
 * The runner's overhead per step on a big plan (probes off: every step performed), with the secrets redactor on as
 * the CLI runs it: over a null executor (the runner alone: journal, fingerprints, handler rule, events, redaction)
 * and over the dry-run executor (plus recording each command and hashing each file's content).
 */
export async function benchRunnerOverhead(spec: ClusterSpec, inputs: RenderInputs, runs = 5): Promise<void> {
  const view = deriveView(spec);
  const rendered = renderView(view, inputs);
  const full = planFor(view, inputs);
  // Steps that move the offline bundle from this machine (verify it, upload it) need the bundle itself; their cost
  // is file I/O, not the runner's. Everything else runs as planned.
  const needsBundle = (kind: string) => kind === 'upload' || kind === 'verify-bundle';
  const plan: Plan = { ...full, phases: full.phases.map((p) => ({ ...p, steps: p.steps.filter((s) => !needsBundle(s.kind)) })) };
  const steps = plan.phases.reduce((n, p) => n + p.steps.length, 0);
  const left = full.phases.reduce((n, p) => n + p.steps.length, 0) - steps;
  const files = new Map(rendered.map((f) => [outputPath(f), f.content]));
  console.log(`(this machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}; the runner and ssh numbers below move with it)`);
  const once = async (make: (host: string) => Executor) => {
    const executors = new Map<string, Executor>();
    let events = 0;
    const t = performance.now();
    const summary = await runPlan({
      plan,
      files,
      executor: (host) => {
        let e = executors.get(host);
        if (!e) executors.set(host, (e = make(host)));
        return e;
      },
      clusterHost: view.firstControlPlane.name,
      journal: new MemoryJournal(),
      probes: false,
      secrets: secretValues(inputs.secrets),
      onEvent: () => void events++,
    });
    const wall = performance.now() - t;
    if (!summary.ok) throw new Error(`dry-run of the ${view.hosts.length}-host plan failed: ${JSON.stringify(summary.failures.slice(0, 3))}`);
    return wall;
  };
  for (const [name, make] of [
    ['null executor', (host: string) => new NullExecutor(host)],
    ['dry-run executor', (host: string) => new DryRunExecutor({ host })],
  ] as const) {
    await once(make); // warm up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once(make));
    times.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    console.log(
      `${`runner, ${view.hosts.length}-host plan, ${name}`.padEnd(44)} p50 ${ms(p50)}   max ${ms(times[times.length - 1]!)}   ` +
        `${((p50 * 1000) / steps).toFixed(1)} µs/step over ${steps} steps${left ? ` (${left} bundle upload/verify steps left out)` : ''}`,
    );
  }
}

/** Why a section on the test bed's hosts cannot run here, or undefined when it can. */
export async function sshSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (the test bed manages docker networks and iptables)';
  try {
    readManifest();
  } catch (e) {
    return (e as Error).message;
  }
  const info = await runLocal(['docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 }).catch((e: Error) => ({ exitCode: 1, stderr: e.message }));
  if (info.exitCode !== 0) return `docker does not answer (${info.stderr.trim().split('\n')[0]}): run \`npm run testbed:setup\``;
  return undefined;
}

/** `true` on 1, 5 and 10 host-containers through the SSH executor: connect time, then fan-out wall time. */
export async function benchSshFanout(opts: { hosts?: number; runs?: number } = {}): Promise<void> {
  const n = opts.hosts ?? 10;
  const runs = opts.runs ?? 30;
  const skip = await sshSkipReason();
  if (skip) {
    console.log(`ssh fan-out: SKIPPED: ${skip}`);
    return;
  }
  let tb: Testbed | undefined;
  const executors: SshExecutor[] = [];
  try {
    tb = await createTestbed({ name: 'bench-ssh', hosts: n });
    console.log(`ssh fan-out: test bed of ${n} host-containers ready in ${tb.timings.totalMs} ms (sshd, root login, pinned ed25519 host keys)`);
    for (const h of tb.hosts) {
      executors.push(new SshExecutor({
        host: h.name, address: h.address, user: 'root', privateKeyPath: tb.privateKeyPath,
        hostKey: { fingerprint: h.hostKeyFingerprint }, connectTimeoutMs: 20_000,
      }));
    }
    // connection set-up: TCP, key exchange, host key check, public key auth, and the first `true`
    const connectEach: number[] = [];
    const t0 = performance.now();
    await Promise.all(executors.map(async (e) => {
      const t = performance.now();
      await e.run(['true'], { timeoutMs: 30_000 });
      connectEach.push(performance.now() - t);
    }));
    const connectWall = performance.now() - t0;
    connectEach.sort((a, b) => a - b);
    console.log(`${`ssh connect + first \`true\`, ${n} hosts at once`.padEnd(44)} wall ${ms(connectWall)}   per host p50 ${ms(percentile(connectEach, 50))}   max ${ms(connectEach[connectEach.length - 1]!)}`);
    // a single connection, alone (no competition for the 2 cores)
    const lone = new SshExecutor({
      host: tb.hosts[0]!.name, address: tb.hosts[0]!.address, user: 'root', privateKeyPath: tb.privateKeyPath,
      hostKey: { fingerprint: tb.hosts[0]!.hostKeyFingerprint }, connectTimeoutMs: 20_000,
    });
    executors.push(lone);
    const tl = performance.now();
    await lone.run(['true'], { timeoutMs: 30_000 });
    console.log(`${'ssh connect + first `true`, 1 host alone'.padEnd(44)} wall ${ms(performance.now() - tl)}`);

    let base = 0;
    for (const width of [1, 5, 10].filter((w) => w <= n)) {
      const group = executors.slice(0, width);
      for (let i = 0; i < 3; i++) await Promise.all(group.map((e) => e.run(['true'], { timeoutMs: 30_000 }))); // warm up
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await Promise.all(group.map((e) => e.run(['true'], { timeoutMs: 30_000 })));
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      if (width === 1) base = p50;
      if (width === 10) goal('ssh `true` on 10 hosts / on 1', p50 / base, 1.5, 'max', 'x');
      console.log(
        `${`ssh \`true\` on ${width} host${width === 1 ? '' : 's'} at once (${runs} runs)`.padEnd(44)} p50 ${ms(p50)}   p90 ${ms(percentile(times, 90))}   ` +
          `x${(p50 / base).toFixed(2)} of 1 host`,
      );
    }
  } catch (e) {
    console.log(`ssh fan-out: FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await Promise.all(executors.map((e) => e.close().catch(() => undefined)));
    await tb?.destroy();
  }
}
