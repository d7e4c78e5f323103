// Installs as durable jobs: each one renders the spec with its cluster's secrets, plans, and runs the plan with the
// runner over the chosen executor. Every event is committed to SQLite (Store.append) before it goes to subscribers
// (SSE) or the log. At startup, installs left pending or running resume from their journal: steps already done are
// skipped by the runner, not repeated. Different clusters run side by side; one cluster has at most one install.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Admission } from './admission.js';
import { dirname, join } from 'node:path';
import type { ClusterSpec } from '../spec/schema.js';
import type { SpecIssue } from '../spec/issues.js';
import { parseSpec } from '../spec/load.js';
import { deriveView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import { Redactor, secretValues } from '../runner/redact.js';
import { loadOrCreateSecretsAsync } from '../secrets/secrets.js';
import { bundleDirOf, checkStartable, prepareInstall, runInstall, UnconfirmedError, type ExecutorSettings, type Prepared } from '../install/index.js';
import { ChangeRefusedError, refusals, removalSteps } from '../day2/change.js';
import { certsRenewPlan } from '../day2/certs.js';
import { upgradePlan, upgradeRefusals } from '../day2/upgrade.js';
import { resetPlan } from '../day2/reset.js';
import { etcdRestorePlan, etcdSnapshotPlan } from '../day2/etcd.js';
import { localSha256 } from '../runner/actions.js';
import type { ClusterView } from '../spec/derive.js';
import type { Plan } from '../plan/types.js';
import type { Logger } from './log.js';
import { ConflictError, isTerminal, newId, type Operation, type ClusterRecord, type ExecutorKind, type JobStatus, type RunTotals, type ServiceEvent, type StoredEvent, type Store } from './store.js';

/** What {@link Jobs} needs: where to store, log and keep secrets, and how installs are run. */
export interface JobsOptions {
  store: Store;
  log: Logger;
  /** one secrets file per cluster name: <secretsDir>/<name>.secrets.yaml (0600) */
  secretsDir: string;
  executors: ExecutorSettings;
  /** hosts at once within a phase */
  concurrency: number;
  /** the unpacked offline bundle on this machine; default: each spec's spec.offline.bundleDir */
  bundleDir?: string;
  /** installs being started at once (their secrets made) and waiting beyond that; more are refused (BusyError) */
  admission?: { active: number; queued: number; retryAfterSeconds: number };
}

/** A day-two operation asks for a cluster with no successful real install here. */
export class NotInstalledError extends Error {
  constructor(name: string, why = 'no successful install of it on this service (dry runs do not count)') {
    super(`cluster "${name}": ${why}`);
    this.name = 'NotInstalledError';
  }
}

/** A day-two operation that cannot run as asked (a host that is not a control plane, a snapshot that is not one). */
export class OperationError extends Error {
  constructor(
    readonly status: 404 | 409 | 422,
    readonly code: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

/** The secrets file exists but cannot serve this spec; issues name secrets-file paths, never values. */
export class SecretsError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super('the cluster\'s secrets file cannot be used');
    this.name = 'SecretsError';
  }
}

/** Receives a cluster's events as they are stored ({@link Jobs.subscribe}). */
export type Listener = (e: StoredEvent) => void;

/**
 * Runs the service's installs: admits them (a bounded queue, then 429), prepares and runs each through the install
 * pipeline, stores their events, lets subscribers follow them live, cancels them and resumes those found unfinished at
 * startup.
 */
export class Jobs {
  private readonly running = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private stopping = false;
  /** true once the installs found at startup have been picked up (readyz) */
  recovered = false;
  private readonly admission: Admission;

  constructor(private readonly o: JobsOptions) {
    mkdirSync(o.secretsDir, { recursive: true, mode: 0o700 });
    // a new cluster's RSA CA (named in the spec) costs a core for 0.2-1 s: as many at once as there are cores, a short
    // queue, then 429
    this.admission = new Admission(o.admission ?? { active: Math.max(1, availableParallelism()), queued: 8, retryAfterSeconds: 2 });
  }

  /** The path of a cluster's secrets file: `<secretsDir>/<name>.secrets.yaml`. */
  secretsFile(name: string): string {
    return join(this.o.secretsDir, `${name}.secrets.yaml`);
  }

  /** The secrets of a cluster: the file is created (CA made without blocking the event loop) or completed. */
  async secretsFor(spec: ClusterSpec): Promise<Secrets> {
    const r = await loadOrCreateSecretsAsync(this.secretsFile(spec.metadata.name), spec);
    if (!r.ok) throw new SecretsError(r.issues);
    return r.secrets;
  }

  /**
   * Where the etcd snapshot that job `rec` takes is kept: beside the secrets (the directory is 0700, the file 0600:
   * a snapshot holds every Secret of the cluster), `<secretsDir>/etcd-snapshots/<cluster>/<job id>.db`.
   */
  snapshotFile(rec: Pick<ClusterRecord, 'id' | 'name'>): string {
    return join(this.o.secretsDir, 'etcd-snapshots', rec.name, `${rec.id}.db`);
  }

  /** Removes what a job left on the service beside its record (an etcd snapshot's file). */
  forgetFiles(rec: ClusterRecord): void {
    if (rec.operation?.kind === 'etcd-snapshot') rmSync(this.snapshotFile(rec), { force: true });
  }

  /** The file of the succeeded etcd-snapshot job `id` of cluster `name`, or OperationError saying why not. */
  private snapshotOf(name: string, id: string): string {
    const snap = this.o.store.get(id);
    if (!snap || snap.name !== name || snap.operation?.kind !== 'etcd-snapshot') {
      throw new OperationError(404, 'snapshot_not_found', 'snapshot', `no etcd snapshot ${JSON.stringify(id.slice(0, 40))} of cluster "${name}" on this service (the id of a succeeded etcd-snapshot operation)`);
    }
    const file = this.snapshotFile(snap);
    if (snap.status !== 'succeeded' || !existsSync(file)) {
      throw new OperationError(409, 'snapshot_unusable', 'snapshot', `etcd snapshot ${id} is ${snap.status === 'succeeded' ? 'gone from the service' : snap.status}; only a succeeded snapshot restores`);
    }
    return file;
  }

  /** The bundle directory for a spec on this machine. */
  bundleDir(spec: ClusterSpec): string {
    return bundleDirOf(deriveView(spec), this.o.bundleDir);
  }

  /** The stored (or given) spec through the install pipeline: secrets, inputs from the bundle, files, plan. */
  async prepare(from: ({ spec: ClusterSpec; secrets?: Secrets } | { id: string }) & { executor: ExecutorKind }): Promise<Prepared> {
    const operation = 'id' in from ? this.o.store.get(from.id)?.operation : undefined;
    if (operation && 'id' in from) return this.prepareOperation(from.id, operation, from.executor);
    let spec: ClusterSpec;
    if ('spec' in from) spec = from.spec;
    else {
      const parsed = parseSpec(this.o.store.spec(from.id));
      if (!parsed.ok) throw new Error(`the stored spec no longer validates: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      spec = parsed.spec;
    }
    const secrets = ('secrets' in from && from.secrets) || (await this.secretsFor(spec));
    // day two: what the last successful install of this cluster applied, planned again with the same secrets and
    // bundle; the install is then only the change (src/day2/change.ts)
    const before = this.lastApplied(spec.metadata.name, 'id' in from ? from.id : undefined);
    const applied = before
      ? { view: before, plan: prepareInstall({ view: before, secrets, executor: from.executor, bundleDir: this.o.bundleDir }).fullPlan }
      : undefined;
    const view = deriveView(spec);
    if (applied && applied.view.kubernetesVersion !== view.kubernetesVersion) {
      // kubernetesVersion raised (and nothing else: checked when it was posted): kubeadm's upgrade order
      const p = prepareInstall({ view, secrets, executor: from.executor, bundleDir: this.o.bundleDir });
      return { ...p, plan: upgradePlan(applied, { view, plan: p.fullPlan }) };
    }
    return prepareInstall({ view, secrets, executor: from.executor, bundleDir: this.o.bundleDir, applied });
  }

  /** A day-two operation's plan on the cluster as its stored spec (the last install's) says. */
  private async prepareOperation(id: string, op: Operation, executor: ExecutorKind): Promise<Prepared> {
    const parsed = parseSpec(this.o.store.spec(id));
    if (!parsed.ok) throw new Error(`the stored spec no longer validates: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    const view = deriveView(parsed.spec);
    const p = prepareInstall({ view, secrets: await this.secretsFor(parsed.spec), executor, bundleDir: this.o.bundleDir });
    const rec = this.o.store.get(id)!;
    let plan: Plan;
    if (op.kind === 'certs-renew') plan = certsRenewPlan(view);
    else if (op.kind === 'reset') plan = resetPlan(view, p.fullPlan, { purge: op.purge }).plan;
    else if (op.kind === 'etcd-snapshot') {
      const file = this.snapshotFile(rec);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      plan = etcdSnapshotPlan(view, file, view.controlPlanes.find((h) => h.name === op.host) ?? view.firstControlPlane);
    } else {
      const file = this.snapshotOf(rec.name, op.snapshot);
      plan = etcdRestorePlan(view, file, await localSha256(file));
    }
    // none reads the offline bundle
    return { ...p, plan, missing: [] };
  }

  /**
   * POST /operations: a day-two operation on cluster `name` as its last successful real install left it, as a job
   * like an install (plan, events, cancel, resume). Throws NotInstalledError without such an install, and
   * UnconfirmedError for destructive steps without `confirmed` (not for a dry run).
   */
  async createOperation(input: { name: string; operation: Operation; executor?: ExecutorKind; confirmed: boolean; createdBy?: string }): Promise<ClusterRecord> {
    const last = this.lastInstall(input.name);
    if (!last) throw new NotInstalledError(input.name);
    const executor = input.executor ?? last.executor;
    const specInput = this.o.store.spec(last.id);
    const parsed = parseSpec(specInput);
    if (!parsed.ok) throw new NotInstalledError(input.name, 'its stored spec no longer validates with this version');
    const view = deriveView(parsed.spec);
    const op = input.operation;
    if (op.kind === 'etcd-snapshot' && op.host !== null && !view.controlPlanes.some((h) => h.name === op.host)) {
      throw new OperationError(422, 'invalid_operation', 'host', `${op.host} is not a control plane of cluster "${input.name}" (${view.controlPlanes.map((h) => h.name).join(', ')})`);
    }
    if (op.kind === 'etcd-restore') {
      const file = this.snapshotOf(input.name, op.snapshot);
      if (executor !== 'dry-run' && !input.confirmed) {
        throw new UnconfirmedError(etcdRestorePlan(view, file, '0'.repeat(64)).phases.flatMap((ph) => ph.steps).filter((st) => st.destructive));
      }
    }
    if (input.operation.kind === 'reset' && executor !== 'dry-run' && !input.confirmed) {
      // every step of a reset destroys: name them (the install plan says which files per host)
      const secrets = await this.secretsFor(parsed.spec);
      const plan = resetPlan(view, prepareInstall({ view, secrets, executor, bundleDir: this.o.bundleDir }).fullPlan, { purge: input.operation.purge }).plan;
      throw new UnconfirmedError(plan.phases.flatMap((ph) => ph.steps).filter((st) => st.destructive));
    }
    const rec = this.o.store.insertCluster({
      id: newId(), name: input.name, executor, specInput, warnings: [], createdBy: input.createdBy ?? null, confirmed: input.confirmed, operation: input.operation,
    });
    this.o.log.info('job', { id: rec.id, cluster: rec.name, status: 'pending', executor, operation: input.operation.kind });
    this.start(rec.id, () => this.prepare({ id: rec.id, executor }));
    return this.o.store.get(rec.id)!;
  }

  /**
   * The newest successful real install of cluster `name` (other than `except`) that still stands: none when a reset
   * succeeded after it (the cluster is gone), operations that leave the spec as it was (certs renew) passed over.
   */
  private lastInstall(name: string, except?: string): ClusterRecord | undefined {
    for (const r of this.o.store.list({ name, status: 'succeeded', limit: 100 })) {
      if (r.executor === 'dry-run' || r.id === except) continue;
      if (r.operation?.kind === 'reset') return undefined;
      if (!r.operation) return r;
    }
    return undefined;
  }

  /**
   * The spec of the newest successful real (not dry-run) install of cluster `name`, other than `except`, as a view;
   * undefined when there is none (a first install) or it no longer validates.
   */
  lastApplied(name: string, except?: string): ClusterView | undefined {
    const rec = this.lastInstall(name, except);
    if (!rec) return undefined;
    const parsed = parseSpec(this.o.store.spec(rec.id));
    return parsed.ok ? deriveView(parsed.spec) : undefined;
  }

  /**
   * What applying `spec` over the last successful install would refuse or destroy, known from the specs alone:
   * throws ChangeRefusedError (a change the running cluster cannot take) or, for a real install without
   * `confirmed`, UnconfirmedError naming every destructive step. Nothing is reserved or rendered.
   */
  checkChange(spec: ClusterSpec, executor: ExecutorKind, confirmed: boolean): void {
    const before = this.lastApplied(spec.metadata.name);
    if (!before) return;
    const after = deriveView(spec);
    const problems = before.kubernetesVersion !== after.kubernetesVersion ? upgradeRefusals(before, after) : refusals(before, after);
    if (problems.length > 0) throw new ChangeRefusedError(problems);
    const removed = before.hosts.filter((h) => !after.hosts.some((x) => x.name === h.name));
    const destructive = removed.flatMap((h) => removalSteps(h)).filter((st) => st.destructive);
    if (destructive.length > 0 && executor !== 'dry-run' && !confirmed) throw new UnconfirmedError(destructive);
  }

  /**
   * POST /clusters: refuse an install whose inputs are not on this machine (MissingInputsError: the bundle or a
   * bundle file the render needs; a dry run starts without), reserve the cluster name (ConflictError while another
   * install of it is active), load or make the cluster's secrets (SecretsError: the reservation is dropped), then
   * start in the background — rendering and planning happen after the answer, so a request costs a validation, not
   * a render.
   */
  async create(input: { spec: ClusterSpec; specInput: unknown; warnings: SpecIssue[]; executor: ExecutorKind; createdBy?: string; confirmed?: boolean }): Promise<ClusterRecord> {
    // what the change would refuse or destroy first: a user learns it before anything else is asked of them
    this.checkChange(input.spec, input.executor, input.confirmed ?? false);
    checkStartable(deriveView(input.spec), input.executor, this.o.bundleDir);
    const rec = this.o.store.insertCluster({
      id: newId(),
      name: input.spec.metadata.name,
      executor: input.executor,
      specInput: input.specInput,
      warnings: input.warnings,
      createdBy: input.createdBy ?? null,
      confirmed: input.confirmed ?? false,
    });
    this.o.log.info('job', { id: rec.id, cluster: rec.name, status: 'pending', executor: rec.executor });
    let secrets: Secrets;
    try {
      secrets = await this.admission.run(() => this.secretsFor(input.spec));
    } catch (e) {
      this.o.store.discard(rec.id);
      this.o.log.info('job', { id: rec.id, cluster: rec.name, status: 'discarded', error: e instanceof Error ? e.name : 'error' });
      throw e;
    }
    this.start(rec.id, () => this.prepare({ spec: input.spec, secrets, executor: input.executor }));
    return this.o.store.get(rec.id)!;
  }

  /** POST /clusters/{id}/cancel. Recorded first, so a cancel survives a restart. */
  cancel(id: string): 'cancelling' | 'not-active' | 'not-found' {
    const rec = this.o.store.get(id);
    if (!rec) return 'not-found';
    if (isTerminal(rec.status)) return 'not-active';
    this.o.store.requestCancel(id);
    this.o.log.info('job', { id, cluster: rec.name, status: rec.status, cancel: 'requested' });
    this.running.get(id)?.ac.abort(new Error('cancelled by request'));
    return 'cancelling';
  }

  /** POST /clusters/{id}/resume: a failed or cancelled install runs again from its journal. */
  async resume(id: string): Promise<{ ok: true; record: ClusterRecord } | { ok: false; why: 'not-found' | 'active' | 'finished' | 'conflict' }> {
    const rec = this.o.store.get(id);
    if (!rec) return { ok: false, why: 'not-found' };
    if (!isTerminal(rec.status)) return { ok: false, why: 'active' };
    try {
      if (!this.o.store.reopen(id, ['failed', 'cancelled'])) return { ok: false, why: isTerminal(this.o.store.get(id)!.status) ? 'finished' : 'active' };
    } catch (e) {
      if (e instanceof ConflictError) return { ok: false, why: 'conflict' };
      throw e;
    }
    this.start(id, () => this.prepare({ id, executor: rec.executor }), 'resumed by request');
    return { ok: true, record: this.o.store.get(id)! };
  }

  /** At startup: pick up every install that was pending or running when the server stopped. */
  async recover(): Promise<number> {
    const active = this.o.store.active();
    for (const rec of active) {
      if (rec.cancelRequested) this.status(rec.id, 'cancelled', 'cancelled while the server was stopped');
      else this.start(rec.id, () => this.prepare({ id: rec.id, executor: rec.executor }), 'resumed after a server restart');
    }
    this.recovered = true;
    return active.length;
  }

  /** Whether the install with this id is running in this process now. */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Live events of one cluster, after they are stored. Returns the unsubscribe function. */
  subscribe(id: string, fn: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Wait for every running install to end (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /**
   * Stop for a restart: abort running installs without marking them cancelled — their records stay `running` and
   * the next start resumes them from the journal, exactly as after a crash.
   */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const r of this.running.values()) r.ac.abort(new Error('server stopping'));
    await this.idle();
  }

  private publish(id: string, e: ServiceEvent): StoredEvent {
    const stored = this.o.store.append(id, e);
    for (const fn of this.listeners.get(id) ?? []) {
      try {
        fn(stored);
      } catch {
        // a broken subscriber must not stop an install
      }
    }
    return stored;
  }

  private status(id: string, status: JobStatus, reason?: string, summary?: RunTotals): void {
    this.publish(id, { type: 'status', status, ...(reason ? { reason } : {}), ...(summary ? { summary } : {}) });
    const rec = this.o.store.get(id);
    this.o.log.info('job', { id, cluster: rec?.name, status, reason, changed: summary?.changed, failed: summary?.failed, ms: summary?.durationMs });
  }

  private describe(e: unknown): string {
    if (e instanceof SecretsError) return `${e.message}: ${e.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    return e instanceof Error ? e.message : String(e);
  }

  /** Run an install in the background: prepare (render, plan), then execute. It counts as running from now on. */
  private start(id: string, prepare: () => Promise<Prepared>, reason?: string): void {
    const ac = new AbortController();
    const done = (async () => {
      await new Promise((r) => setImmediate(r)); // the HTTP answer first
      let p: Prepared;
      try {
        p = await prepare();
      } catch (e) {
        this.status(id, 'failed', this.describe(e));
        return;
      }
      const redactor = new Redactor(secretValues(p.secrets));
      this.o.store.setPlan(id, redactor.text(JSON.stringify(p.plan)));
      const rec = this.o.store.get(id)!;
      if (rec.cancelRequested) return this.status(id, 'cancelled', 'cancelled before it started');
      if (ac.signal.aborted) return; // shutdown: stays pending, resumes at the next start
      const release = this.o.log.addSecrets(secretValues(p.secrets));
      try {
        await this.execute(rec, p, ac, redactor, reason);
      } finally {
        release();
      }
    })()
      .catch((e) => this.o.log.error('job', { id, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => this.running.delete(id));
    this.running.set(id, { ac, done });
  }

  private async execute(rec: ClusterRecord, p: Prepared, ac: AbortController, redactor: Redactor, reason?: string): Promise<void> {
    const id = rec.id;
    this.status(id, 'running', reason);
    try {
      const { summary } = await runInstall(p, {
        // a dry run destroys nothing; a real one only what confirm=true allowed when it was posted
        confirmed: rec.confirmed || p.executor === 'dry-run',
        journal: this.o.store.journal(id),
        concurrency: this.o.concurrency,
        signal: ac.signal,
        executors: this.o.executors,
        onEvent: (e) => this.publish(id, e),
      });
      const totals: RunTotals = { changed: summary.changed, skipped: summary.skipped, failed: summary.failed, durationMs: summary.durationMs };
      const cancelRequested = this.o.store.get(id)?.cancelRequested ?? false;
      if (summary.cancelled && this.stopping && !cancelRequested) {
        this.o.log.info('job', { id, cluster: rec.name, status: 'running', note: 'interrupted by shutdown; resumes at the next start' });
      } else if (summary.ok) this.status(id, 'succeeded', undefined, totals);
      else if (summary.cancelled) this.status(id, 'cancelled', 'cancelled by request', totals);
      else {
        const f = summary.failures[0];
        this.status(id, 'failed', redactor.text(f ? `${f.stepId} on ${f.host}: ${f.error}` : 'the install did not finish'), totals);
      }
    } catch (e) {
      this.status(id, 'failed', redactor.text(this.describe(e)));
    }
  }
}
