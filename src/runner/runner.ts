// runPlan: phases in order; hosts within a phase in parallel (bounded), one host at a time in serial phases; steps
// of a host in order. Each step: journal (resume) -> handler rule (onChangeOf) -> probe (skip when done) ->
// perform with retries and backoff. Emits structured events; every text that leaves the runner is redacted.
import { stepFingerprint } from '../plan/fingerprint.js';
import { ExecConnectionError, type Executor } from '../executors/executor.js';
import type { Phase, Plan, Step } from '../plan/types.js';
import { perform, probe } from './actions.js';
import type { Journal } from './journal.js';
import { Redactor } from './redact.js';
import { waitUnlessAborted } from './wait.js';
import type { BundleSource } from '../bundle/io/source.js';
import type { UploadProgress } from '../bundle/io/distribute.js';

/**
 * What a run reports as it goes, in order: run, phase and step starts and ends, step output and upload progress, skips
 * and failures (each failure with its cause first and the command that failed). Every text is redacted.
 */
export type RunEvent =
  | { type: 'run-started'; cluster: string; phases: number; steps: number }
  | { type: 'phase-started'; phase: string; index: number; steps: number }
  | { type: 'phase-finished'; phase: string; index: number; ok: boolean; durationMs: number }
  | { type: 'step-started'; stepId: string; host: string; kind: string; description: string; attempt: number }
  | { type: 'step-output'; stepId: string; host: string; text: string }
  /** transfer progress of an upload step: bytes of `total` on the host, the file in flight */
  | { type: 'step-progress'; stepId: string; host: string; bytes: number; total: number; path: string }
  | { type: 'step-finished'; stepId: string; host: string; changed: boolean; durationMs: number }
  /** no-bundle: a dry run without the offline bundle passes over the steps that read it */
  | { type: 'step-skipped'; stepId: string; host: string; reason: SkipReason }
  /**
   * error: the cause first (host, then why); command: the whole command that failed, when one did (redacted).
   * interrupted: the run was stopping (cancel or shutdown) when the step ended — it did not fail on its own, and a
   * resume runs it again (the journal records it failed, which is what makes a resume re-run it). A step whose retry
   * backoff a stop cut short gets a second, final step-failed with interrupted: true.
   */
  | { type: 'step-failed'; stepId: string; host: string; error: string; command?: string; attempt: number; willRetry: boolean; durationMs: number; interrupted?: true }
  | { type: 'run-finished'; ok: boolean; cancelled: boolean; changed: number; skipped: number; failed: number; durationMs: number };

/**
 * Why a step did not run: done in the journal, its probe showed it done, a handler with nothing changed, or a dry run
 * without the bundle.
 */
export type SkipReason = 'journal' | 'probe' | 'no-change' | 'no-bundle';

/**
 * What {@link runPlan} runs: the plan, the rendered files, an executor per host, the journal, and how (events,
 * cancellation, concurrency, secrets to mask, the bundle).
 */
export interface RunOptions {
  plan: Plan;
  /** rendered file content by output path */
  files: ReadonlyMap<string, string>;
  /** executor for a host name; cluster steps (host null) use the first control plane's */
  executor(host: string): Executor;
  /** host that runs cluster steps */
  clusterHost: string;
  journal: Journal;
  /** Called with every event, redacted. */
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
  /** hosts running at once within a phase (default 10) */
  concurrency?: number;
  /** values to mask in every event and error (secrets) */
  secrets?: readonly string[];
  /** run idempotency probes (default true); false performs every step the journal has not finished, as a dry run
   * of a fresh install shows it */
  probes?: boolean;
  /** probe every step even when the journal says it is done (detects drift on the hosts) */
  reprobe?: boolean;
  /** sleep between retries; tests shorten it */
  backoffScale?: number;
  /** the offline bundle on this machine: verified by the preflight step, uploaded by the distribute steps */
  bundle?: BundleSource;
  /** a dry run without the bundle (at this path): the steps that read it are skipped, reason `no-bundle` */
  withoutBundle?: string;
}

/**
 * How a run ended: ok or cancelled, how many steps changed, were skipped or failed, how long it took and each failure.
 */
export interface RunSummary {
  ok: boolean;
  cancelled: boolean;
  changed: number;
  skipped: number;
  failed: number;
  durationMs: number;
  failures: { stepId: string; host: string; error: string }[];
}

export { stepFingerprint };

/**
 * Runs a plan over executors: phases in order, hosts in parallel within a phase (one at a time in a serial phase), each
 * step skipped when the journal or its probe shows it done, retried with backoff, recorded in the journal; handlers run
 * when a step they follow changed something. Stops at the end of the first phase with a failure.
 */
export async function runPlan(o: RunOptions): Promise<RunSummary> {
  const redact = new Redactor(o.secrets ?? []);
  const emit = (e: RunEvent) => o.onEvent?.(redact.event(e));
  const t0 = Date.now();
  const summary: RunSummary = { ok: true, cancelled: false, changed: 0, skipped: 0, failed: 0, durationMs: 0, failures: [] };
  const total = o.plan.phases.reduce((n, p) => n + p.steps.length, 0);
  emit({ type: 'run-started', cluster: o.plan.cluster, phases: o.plan.phases.length, steps: total });
  const changedThisRun = new Set<string>();

  for (const [index, phase] of o.plan.phases.entries()) {
    if (o.signal?.aborted) {
      summary.cancelled = true;
      break;
    }
    const p0 = Date.now();
    emit({ type: 'phase-started', phase: phase.name, index, steps: phase.steps.length });
    const okPhase = await runPhase(phase);
    emit({ type: 'phase-finished', phase: phase.name, index, ok: okPhase, durationMs: Date.now() - p0 });
    if (!okPhase) {
      summary.ok = false;
      break;
    }
  }
  if (o.signal?.aborted) {
    summary.cancelled = true;
    summary.ok = false;
  }
  summary.durationMs = Date.now() - t0;
  emit({ type: 'run-finished', ok: summary.ok, cancelled: summary.cancelled, changed: summary.changed, skipped: summary.skipped, failed: summary.failed, durationMs: summary.durationMs });
  return summary;

  async function runPhase(phase: Phase): Promise<boolean> {
    // steps that run on this machine (the bundle's verification) come first, before any host is contacted: a local
    // problem stops the install with no connection made
    for (const step of phase.steps.filter(runsHere)) {
      if (o.signal?.aborted) return false;
      if (!(await runStep(o.clusterHost, step))) return false;
    }
    const byHost = new Map<string, Step[]>();
    for (const s of phase.steps.filter((x) => !runsHere(x))) {
      const h = s.host ?? o.clusterHost;
      byHost.set(h, [...(byHost.get(h) ?? []), s]);
    }
    // ordered: each step its own group, in plan order, one at a time
    const queue: [string, Step[]][] = phase.ordered
      ? phase.steps.filter((x) => !runsHere(x)).map((s) => [s.host ?? o.clusterHost, [s]])
      : [...byHost.entries()];
    let ok = true;
    const limit = phase.serial || phase.ordered ? 1 : Math.max(1, o.concurrency ?? 10);
    const worker = async () => {
      for (;;) {
        const next = queue.shift();
        if (!next || !ok || o.signal?.aborted) return;
        const [host, steps] = next;
        for (const step of steps) {
          if (o.signal?.aborted) return;
          if (!(await runStep(host, step))) {
            ok = false;
            return;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
    return ok && !o.signal?.aborted;
  }

  async function runStep(host: string, step: Step): Promise<boolean> {
    const fp = stepFingerprint(step);
    const rec = o.journal.get(step.id);
    const skip = (reason: SkipReason) => {
      o.journal.put(step.id, { status: 'skipped', fingerprint: fp, changedSeq: rec?.changedSeq ?? 0, completedSeq: o.journal.nextSeq(), durationMs: 0 });
      summary.skipped++;
      emit({ type: 'step-skipped', stepId: step.id, host, reason });
      return true;
    };
    if (!o.bundle && o.withoutBundle !== undefined && readsBundle(step)) return skip('no-bundle');
    // handler rule: a dependency changed after this step last completed (this run or an interrupted earlier one)
    const triggered = (step.onChangeOf ?? []).some((d) => changedThisRun.has(d) || (o.journal.get(d)?.changedSeq ?? 0) > (rec?.completedSeq ?? 0));
    if (!triggered && !step.readOnly) {
      // finished in an earlier (possibly interrupted) run with the same definition: resume past it
      if (rec && rec.fingerprint === fp && rec.status !== 'failed' && !step.onChangeOf && !o.reprobe) return skip('journal');
      // a handler whose triggers did not change anything
      if (step.onChangeOf && !step.probe) return skip('no-change');
    }
    // the host's executor only when the step needs it (a step that runs here never connects)
    let exec: Executor | undefined;
    const ctx = {
      get exec() {
        return (exec ??= o.executor(host));
      },
      content: (source: string) => {
        const c = o.files.get(source);
        if (c === undefined) throw new Error(`rendered file ${source} is missing`);
        return c;
      },
      signal: o.signal,
      onOutput: (text: string) => emit({ type: 'step-output', stepId: step.id, host, text }),
      bundle: o.bundle,
      onProgress: (p: UploadProgress) => emit({ type: 'step-progress', stepId: step.id, host, bytes: p.bytes, total: p.total, path: p.path }),
    };
    if (!triggered && step.probe && !step.readOnly && o.probes !== false) {
      try {
        if (await probe(ctx, step.probe)) return skip('probe');
      } catch {
        // an unanswerable probe means "not done": perform the step
      }
    }
    const attempts = Math.max(1, step.retry.attempts);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const s0 = Date.now();
      emit({ type: 'step-started', stepId: step.id, host, kind: step.kind, description: step.description, attempt });
      try {
        await perform(ctx, step);
        const seq = o.journal.nextSeq();
        const changed = !step.readOnly;
        o.journal.put(step.id, { status: 'done', fingerprint: fp, changedSeq: changed ? seq : rec?.changedSeq ?? 0, completedSeq: seq, durationMs: Date.now() - s0 });
        if (changed) {
          changedThisRun.add(step.id);
          summary.changed++;
        }
        emit({ type: 'step-finished', stepId: step.id, host, changed, durationMs: Date.now() - s0 });
        return true;
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        // trying again cannot help a refused key or a mismatched host key (ExecConnectionError.retryable false)
        const hopeless = e instanceof ExecConnectionError && !e.retryable;
        const willRetry = attempt < attempts && !o.signal?.aborted && !hopeless;
        const command = (e as { command?: unknown }).command;
        const durationMs = Date.now() - s0;
        const failed = (retry: boolean) =>
          emit({ type: 'step-failed', stepId: step.id, host, error, ...(typeof command === 'string' ? { command } : {}), attempt, willRetry: retry, durationMs, ...(o.signal?.aborted ? { interrupted: true as const } : {}) });
        failed(willRetry);
        // the backoff ends at once on cancel; the step's last word is then that the stop interrupted it
        if (willRetry) {
          if (await waitUnlessAborted(step.retry.backoffMs * 2 ** (attempt - 1) * (o.backoffScale ?? 1), o.signal)) continue;
          failed(false);
        }
        const cancelled = !!o.signal?.aborted;
        o.journal.put(step.id, { status: 'failed', fingerprint: fp, changedSeq: rec?.changedSeq ?? 0, completedSeq: rec?.completedSeq ?? 0, durationMs: Date.now() - s0, error: redact.text(error) });
        if (!cancelled) {
          summary.failed++;
          summary.failures.push({ stepId: step.id, host, error: redact.text(error) });
        }
        return false;
      }
    }
    return false;
  }
}

/** Steps performed on the machine running airgap-k8s, not on a host. */
const runsHere = (s: Step): boolean => s.kind === 'verify-bundle';

/** Steps that read the offline bundle on this machine: its verification, its uploads, files rendered from it. */
const readsBundle = (s: Step): boolean => s.kind === 'verify-bundle' || s.kind === 'upload' || (s.needs?.length ?? 0) > 0;

