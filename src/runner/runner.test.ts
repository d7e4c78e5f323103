// The runner over dry-run executors: order, parallelism rules, journal resume, handlers, retries, cancellation,
// redaction. (The same runner over real SSH hosts is exercised by the load-balancer end-to-end test.)
import { describe, expect, it } from 'vitest';
import { DryRunExecutor, type DryRunResponse } from '../executors/dry-run/dry-run.js';
import { ExecConnectionError, type Executor } from '../executors/executor.js';
import { buildPlan } from '../plan/index.js';
import { renderCluster, outputPath } from '../generators/index.js';
import { loadFixture, testInputs } from '../../test/support/fixtures.js';
import { MemoryJournal } from './journal.js';
import { runPlan, type RunEvent } from './runner.js';
import { secretValues } from './redact.js';
import type { Plan } from '../plan/types.js';

/** The plan without the steps that read the bundle on this machine (its verification and uploads). */
function withoutBundleSteps(plan: Plan): Plan {
  return { ...plan, phases: plan.phases.map((p) => ({ ...p, steps: p.steps.filter((s) => s.kind !== 'verify-bundle' && s.kind !== 'upload') })).filter((p) => p.steps.length > 0) };
}

function setup(respond?: (host: string, argv: readonly string[]) => DryRunResponse | undefined) {
  const spec = loadFixture('runbook-ha');
  const inputs = testInputs();
  // the bundle steps (verify on this machine, uploads) need a real bundle: src/bundle/*.test.ts run them
  const plan = withoutBundleSteps(buildPlan(spec, inputs));
  const files = new Map(renderCluster(spec, inputs).map((f) => [outputPath(f), f.content]));
  const executors = new Map<string, DryRunExecutor>();
  const executor = (host: string) => {
    let e = executors.get(host);
    if (!e) {
      e = new DryRunExecutor({ host, respond: respond ? (argv) => respond(host, argv) : undefined });
      executors.set(host, e);
    }
    return e;
  };
  return { plan, files, executor, executors, inputs, journal: new MemoryJournal() };
}

const steps = (plan: ReturnType<typeof buildPlan>) => plan.phases.flatMap((p) => p.steps);

describe('runPlan', () => {
  it('runs every step, phases in order, control planes joining one at a time', async () => {
    const t = setup();
    const events: RunEvent[] = [];
    const r = await runPlan({ plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal, onEvent: (e) => events.push(e) });
    expect(r.ok).toBe(true);
    expect(r.failed).toBe(0);
    const phases = events.filter((e) => e.type === 'phase-started').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(t.plan.phases.map((p) => p.name));
    const started = events.filter((e): e is Extract<RunEvent, { type: 'step-started' }> => e.type === 'step-started').map((e) => e.stepId);
    for (const s of steps(t.plan)) if (!s.onChangeOf) expect(started, s.id).toContain(s.id);
    // serial phase: master3's join starts only after master2's finished
    const idx = (type: string, id: string) => events.findIndex((e) => e.type === type && (e as { stepId?: string }).stepId === id);
    expect(idx('step-started', 'control-planes/master3/kubeadm-join')).toBeGreaterThan(idx('step-finished', 'control-planes/master2/kubeadm-join'));
    // secret files travel on stdin only: the recorded commands never carry their content
    const kubeadmInit = t.files.get('hosts/master1/etc/kubernetes/airgap-k8s/kubeadm-init.yaml');
    if (kubeadmInit) expect(JSON.stringify(t.executors.get('master1')!.records)).not.toContain(t.inputs.secrets.bootstrapToken);
  });

  it('a second run over the same journal changes nothing', async () => {
    const t = setup();
    const base = { plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal };
    expect((await runPlan(base)).ok).toBe(true);
    for (const e of t.executors.values()) e.clear();
    const events: RunEvent[] = [];
    const second = await runPlan({ ...base, onEvent: (e) => events.push(e) });
    expect(second).toMatchObject({ ok: true, changed: 0, failed: 0 });
    const started = events.filter((e) => e.type === 'step-started').map((e) => (e as { stepId: string }).stepId);
    const readOnly = new Set(steps(t.plan).filter((s) => s.readOnly).map((s) => s.id));
    expect(started.filter((id) => !readOnly.has(id))).toEqual([]);
  });

  it('a failed step\'s error leads with the host and the cause; the whole command is in the event\'s command field', async () => {
    const t = setup((host, argv) => (host === 'master3' && argv.includes('kubeadm') ? { exitCode: 1, stderr: 'etcd cluster is not healthy' } : undefined));
    const events: RunEvent[] = [];
    await runPlan({ plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal, onEvent: (e) => events.push(e) });
    const failed = events.find((e) => e.type === 'step-failed' && !e.willRetry) as Extract<RunEvent, { type: 'step-failed' }>;
    expect(failed.error).toMatch(/^master3: exit code 1: etcd cluster is not healthy \(running `flock .{1,74}…`\)$/);
    expect(failed.error).not.toContain('\n');
    // the join runs inside the host-lock script: all of it is in `command`, only its start in the error
    expect(failed.command).toMatch(/^flock \/run\/airgap-k8s-kubeadm\.lock sh -c .* kubeadm join /);
    expect(failed.command!.length).toBeGreaterThan(200);
  });

  it('resumes after a failure without repeating finished steps', async () => {
    let failJoin = true;
    const t = setup((host, argv) => (failJoin && host === 'master3' && argv.includes('kubeadm') ? { exitCode: 1, stderr: 'etcd cluster is not healthy' } : undefined));
    const base = { plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal };
    const first = await runPlan(base);
    expect(first.ok).toBe(false);
    expect(first.failures).toEqual([{ stepId: 'control-planes/master3/kubeadm-join', host: 'master3', error: expect.stringContaining('etcd cluster is not healthy') }]);
    const events: RunEvent[] = [];
    failJoin = false;
    const second = await runPlan({ ...base, onEvent: (e) => events.push(e) });
    expect(second.ok).toBe(true);
    const started = events.filter((e) => e.type === 'step-started').map((e) => (e as { stepId: string }).stepId);
    expect(started).toContain('control-planes/master3/kubeadm-join');
    expect(started).not.toContain('first-control-plane/master1/kubeadm-init');
    expect(started).not.toContain('control-planes/master2/kubeadm-join');
  });

  it('handlers run only when their trigger changed: editing one file restarts only its service', async () => {
    const t = setup();
    const base = { plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal };
    await runPlan(base);
    // change haproxy.cfg on master1: its write step gets a new fingerprint, the restart follows
    const plan2 = structuredClone(t.plan);
    const haproxy = steps(plan2).find((s) => s.id === 'load-balancer/master1/file/etc/haproxy/haproxy.cfg');
    if (!haproxy) return; // the haproxy generator is not registered in this build
    (haproxy as { sha256: string }).sha256 = 'changed';
    const events: RunEvent[] = [];
    await runPlan({ ...base, plan: plan2, onEvent: (e) => events.push(e) });
    const started = events.filter((e) => e.type === 'step-started').map((e) => (e as { stepId: string }).stepId);
    expect(started).toContain('load-balancer/master1/file/etc/haproxy/haproxy.cfg');
    expect(started).toContain('load-balancer/master1/service/haproxy/restart');
    expect(started).not.toContain('load-balancer/master1/service/keepalived/restart');
    expect(started).not.toContain('load-balancer/master2/service/haproxy/restart');
  });

  it('retries with backoff, then succeeds', async () => {
    let calls = 0;
    const t = setup((host, argv) => (host === 'master1' && argv.includes('kubeadm') && ++calls < 3 ? { exitCode: 1 } : undefined));
    const step = steps(t.plan).find((s) => s.id === 'first-control-plane/master1/kubeadm-init')!;
    step.retry = { attempts: 3, backoffMs: 10 };
    const events: RunEvent[] = [];
    const r = await runPlan({ plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal, onEvent: (e) => events.push(e) });
    expect(r.ok).toBe(true);
    const fails = events.filter((e) => e.type === 'step-failed' && e.stepId === step.id);
    expect(fails.map((e) => (e as { willRetry: boolean }).willRetry)).toEqual([true, true]);
  });

  it('a connection error that retrying cannot fix (refused key, host key mismatch) is not retried; a retryable one is', async () => {
    for (const retryable of [false, true]) {
      const t = setup();
      const step = steps(t.plan).find((s) => s.id === 'first-control-plane/master1/kubeadm-init')!;
      step.retry = { attempts: 3, backoffMs: 1 };
      const executor = (host: string): Executor => {
        const inner = t.executor(host);
        if (host !== 'master1') return inner;
        return {
          host,
          run: (argv, opts) => (argv.includes('kubeadm') ? Promise.reject(new ExecConnectionError(host, argv, 'ssh root@10.0.0.1:22: authentication as root was refused', retryable)) : inner.run(argv, opts)),
          close: () => inner.close(),
        };
      };
      const events: RunEvent[] = [];
      const r = await runPlan({ plan: t.plan, files: t.files, executor, clusterHost: 'master1', probes: false, journal: t.journal, onEvent: (e) => events.push(e) });
      expect(r.ok).toBe(false);
      const fails = events.filter((e) => e.type === 'step-failed' && e.stepId === step.id).map((e) => (e as { willRetry: boolean }).willRetry);
      expect(fails, `retryable ${retryable}`).toEqual(retryable ? [true, true, false] : [false]);
    }
  });

  it('a cancel during a retry backoff ends the wait at once (a 10-minute backoff here; the test would time out otherwise)', async () => {
    const ac = new AbortController();
    const t = setup((host, argv) => (host === 'master1' && argv.includes('kubeadm') ? { exitCode: 1, stderr: 'not yet' } : undefined));
    const step = steps(t.plan).find((s) => s.id === 'first-control-plane/master1/kubeadm-init')!;
    step.retry = { attempts: 3, backoffMs: 600_000 };
    const events: RunEvent[] = [];
    const r = await runPlan({
      plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal, signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step-failed' && e.stepId === step.id) setImmediate(() => ac.abort());
      },
    });
    expect(r.cancelled).toBe(true);
    // the failure that scheduled the retry, then the stop's: interrupted, not failed on its own
    const fails = events.filter((e): e is Extract<RunEvent, { type: 'step-failed' }> => e.type === 'step-failed' && e.stepId === step.id);
    expect(fails.map((e) => [e.willRetry, e.interrupted])).toEqual([[true, undefined], [false, true]]);
    expect(t.journal.get(step.id)?.status).toBe('failed');
    expect(r.failed).toBe(0);
  }, 20_000);

  it('a step in flight when the run is cancelled is interrupted, not failed; a resume over the journal runs it again', async () => {
    const ac = new AbortController();
    const t = setup();
    const step = steps(t.plan).find((s) => s.id === 'first-control-plane/master1/kubeadm-init')!;
    // the command runs until the cancel kills it, as an SSH command does
    const executor = (host: string): Executor => {
      const inner = t.executor(host);
      return {
        host, fileRoot: undefined, close: () => inner.close(),
        run: (argv, opts) =>
          argv.includes('kubeadm') && !ac.signal.aborted
            ? new Promise((_res, rej) => {
                opts?.signal?.addEventListener('abort', () => rej(new Error(`${host}: killed (cancelled)`)), { once: true });
                setImmediate(() => ac.abort());
              })
            : inner.run(argv, opts),
      };
    };
    const events: RunEvent[] = [];
    const base = { plan: t.plan, files: t.files, clusterHost: 'master1', probes: false, journal: t.journal };
    const r = await runPlan({ ...base, executor, signal: ac.signal, onEvent: (e) => events.push(e) });
    expect(r).toMatchObject({ ok: false, cancelled: true, failed: 0, failures: [] });
    const fails = events.filter((e): e is Extract<RunEvent, { type: 'step-failed' }> => e.type === 'step-failed');
    expect(fails.map((e) => [e.stepId, e.willRetry, e.interrupted])).toEqual([[step.id, false, true]]);
    // the journal keeps it failed: that is what makes a resume perform it again rather than pass over it
    expect(t.journal.get(step.id)?.status).toBe('failed');
    const again: RunEvent[] = [];
    const resumed = await runPlan({ ...base, executor: t.executor, onEvent: (e) => again.push(e) });
    expect(resumed.ok).toBe(true);
    expect(again.some((e) => e.type === 'step-finished' && e.stepId === step.id)).toBe(true);
    expect(again.some((e) => e.type === 'step-failed')).toBe(false);
  });

  it('cancellation stops before the next phase', async () => {
    const ac = new AbortController();
    const t = setup((_h, argv) => {
      if (argv.includes('kubeadm')) ac.abort();
      return undefined;
    });
    const events: RunEvent[] = [];
    const r = await runPlan({ plan: t.plan, files: t.files, executor: t.executor, clusterHost: 'master1', probes: false, journal: t.journal, signal: ac.signal, onEvent: (e) => events.push(e) });
    expect(r.cancelled).toBe(true);
    expect(r.ok).toBe(false);
    expect(events.some((e) => e.type === 'phase-started' && e.phase === 'workers')).toBe(false);
  });

  it('masks secrets in events: kubeadm init prints the token and certificate key', async () => {
    const t = setup((host, argv) =>
      argv[argv.indexOf('kubeadm') + 1] === 'init'
        ? { stdout: `kubeadm join 55.192.0.1:6553 --token ${testInputs().secrets.bootstrapToken} --control-plane --certificate-key ${testInputs().secrets.certificateKey}\n` }
        : undefined,
    );
    const events: RunEvent[] = [];
    // dry-run does not stream; emit the output through a failing step to see it in the error text too
    const r = await runPlan({
      plan: t.plan, files: t.files, clusterHost: 'master1', probes: false, journal: t.journal,
      executor: (h) => {
        const e = t.executor(h);
        return { host: h, fileRoot: undefined, close: () => e.close(), run: async (argv, opts) => {
          const res = await e.run(argv, { ...opts, allowFailure: true });
          if (res.stdout) opts?.onStdout?.(Buffer.from(res.stdout));
          if (argv[argv.indexOf('kubeadm') + 1] === 'init') throw new Error(`init failed after printing: ${res.stdout}`);
          return res;
        } };
      },
      secrets: secretValues(t.inputs.secrets),
      onEvent: (e) => events.push(e),
    });
    expect(r.ok).toBe(false);
    const text = JSON.stringify(events) + JSON.stringify(r);
    expect(text).toContain('--token ***');
    expect(text).not.toContain(t.inputs.secrets.bootstrapToken);
    expect(text).not.toContain(t.inputs.secrets.certificateKey);
  });
});
