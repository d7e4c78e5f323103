// Installs as durable jobs: each one renders the spec with its cluster's secrets, plans, and runs the plan with the
// runner over the chosen executor. Every event is committed to SQLite (Store.append) before it goes to subscribers
// (SSE) or the log. At startup, installs left pending or running resume from their journal: steps already done are
// skipped by the runner, not repeated. Different clusters run side by side; one cluster has at most one install.
//
// The event loop only routes: a request's spec is validated in the worker pool (./pool.ts, ./work.ts), and a job,
// once it has its turn, runs in the job thread (./job-host.ts, ./execution.ts): its start (secrets, bundle inputs,
// render, plan), its run and every SQLite write they make, on the thread's own connection; the loop hears each
// committed event for its subscribers. A job holds a place in the admission control (./admission.ts) from its request
// until its plan is made: a POST is answered 202 once its record is committed, and the job waits for its turn as
// `pending`; when every place is taken, the request is refused at once with 429.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { Admission, type AdmissionLimits, type Slot } from './admission.js';
import { join } from 'node:path';
import type { ClusterSpec } from '../spec/schema.js';
import type { SpecIssue } from '../spec/issues.js';
import { parseSpec } from '../spec/load.js';
import { deriveView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import { bundleDirOf, checkStartable, destructiveSteps, UnconfirmedError, type ExecutorSettings, type Prepared } from '../install/index.js';
import { ChangeRefusedError, refusals, removalSteps } from '../day2/change.js';
import { upgradeRefusals } from '../day2/upgrade.js';
import { etcdRestorePlan } from '../day2/etcd.js';
import type { ClusterView } from '../spec/derive.js';
import type { Logger } from './log.js';
import { workPool, type WorkPool } from './pool.js';
import { describeError, SecretsError, secretsFileIn, type PrepareTask, type SpecCheck } from './work.js';
import { ConflictError, isTerminal, newId, type Operation, type ClusterRecord, type ExecutorKind, type JobStatus, type RunTotals, type ServiceEvent, type StoredEvent, type Store } from './store.js';
import { JobExecution, jobStatus, type Executions } from './execution.js';
import { JobThreadExecutions } from './job-host.js';

/** What {@link Jobs} needs: where to store, log and keep secrets, and how installs are run. */
export interface JobsOptions {
  store: Store;
  log: Logger;
  /** one secrets file per cluster name: <secretsDir>/<name>.secrets.yaml (0600) */
  secretsDir: string;
  /** with `make` (a function), jobs run on the event loop instead of the job thread: a function cannot cross to it */
  executors: ExecutorSettings;
  /** hosts at once within a phase */
  concurrency: number;
  /** the unpacked offline bundle on this machine; default: each spec's spec.offline.bundleDir */
  bundleDir?: string;
  /**
   * jobs in their start at once (secrets, render, plan) and waiting for it beyond that; more are refused
   * (BusyError, 429). Default: as many at once as the worker pool has threads (one per core but the event
   * loop's), 8 waiting.
   */
  admission?: AdmissionLimits;
}

export { SecretsError } from './work.js';

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
  private readonly pool: WorkPool;
  private readonly executions: Executions;

  constructor(private readonly o: JobsOptions) {
    mkdirSync(o.secretsDir, { recursive: true, mode: 0o700 });
    this.pool = workPool();
    // the threads load now rather than when the first request waits for one (they hold the process open only while
    // they work)
    this.pool.warm();
    // starts at once: one per core but the event loop's (they compute), a short queue, then 429
    this.admission = new Admission(o.admission ?? { active: this.pool.size, queued: 8, retryAfterSeconds: 2 });
    const stored = (id: string, e: StoredEvent) => this.stored(id, e);
    const { make, ...executors } = o.executors;
    this.executions = make
      ? new JobExecution({ store: o.store, log: o.log, executors: o.executors, concurrency: o.concurrency, stored, prepare: (t) => this.pool.run('prepareJob', t) })
      : new JobThreadExecutions({ file: o.store.file, sync: o.store.sync, checkpoints: o.store.checkpoints, executors, concurrency: o.concurrency }, { log: o.log, stored });
  }

  /** The path of a cluster's secrets file: `<secretsDir>/<name>.secrets.yaml`. */
  secretsFile(name: string): string {
    return secretsFileIn(this.o.secretsDir, name);
  }

  /**
   * Reserves a place for a job's start (BusyError when every one is taken): a request takes it before it reads its
   * body and hands it to {@link create}, or releases it (idempotent) when it fails first.
   */
  reserve(): Slot {
    return this.admission.reserve();
  }

  /**
   * A spec sent as text, parsed and validated in the worker pool ahead of jobs' starts; `secrets`: also whether the
   * cluster's existing secrets file can serve it.
   */
  checkSpec(text: string, json: boolean, o: { secrets?: boolean } = {}): Promise<SpecCheck> {
    return this.pool.run('checkSpecBody', { text, json, ...(o.secrets ? { secretsDir: this.o.secretsDir } : {}) }, 'high');
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

  /**
   * The stored (or given) spec through the install pipeline, in the worker pool: secrets (made or completed unless
   * given), inputs from the bundle, files, plan; on a cluster installed before, the change; for a stored day-two
   * operation, its plan.
   */
  async prepare(from: ({ spec: ClusterSpec; secrets?: Secrets } | { id: string }) & { executor: ExecutorKind }): Promise<Prepared> {
    return (await this.pool.run('prepareJob', this.prepareTask(from))).prepared;
  }

  /**
   * What a job's start needs from the store and the service's settings, as plain data for the pool: from a spec, a
   * posted document (JSON text, validated again where it is prepared), or a stored job.
   */
  private prepareTask(from: ({ spec: ClusterSpec; secrets?: Secrets } | { documentJson: string; name: string } | { id: string }) & { executor: ExecutorKind }): PrepareTask {
    const common = { executor: from.executor, ...(this.o.bundleDir ? { bundleDir: this.o.bundleDir } : {}) };
    if ('documentJson' in from) {
      const applied = this.lastAppliedDocument(from.name);
      return { ...common, documentJson: from.documentJson, secretsFile: this.secretsFile(from.name), ...(applied === undefined ? {} : { applied }) };
    }
    if ('spec' in from) {
      const applied = this.lastAppliedDocument(from.spec.metadata.name);
      return {
        ...common, spec: from.spec,
        ...(from.secrets ? { secrets: from.secrets } : { secretsFile: this.secretsFile(from.spec.metadata.name) }),
        ...(applied === undefined ? {} : { applied }),
      };
    }
    const rec = this.o.store.get(from.id);
    if (!rec) throw new Error(`no job ${from.id}`);
    const task: PrepareTask = { ...common, document: this.o.store.spec(from.id), secretsFile: this.secretsFile(rec.name) };
    const op = rec.operation;
    if (op) {
      // the snapshot a restore reads is checked here (404/409 reasons), hashed in the pool
      const snapshotFile = op.kind === 'etcd-snapshot' ? this.snapshotFile(rec) : op.kind === 'etcd-restore' ? this.snapshotOf(rec.name, op.snapshot) : undefined;
      return { ...task, operation: { op, ...(snapshotFile ? { snapshotFile } : {}) } };
    }
    const applied = this.lastAppliedDocument(rec.name, rec.id);
    return applied === undefined ? task : { ...task, applied };
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
    const slot = this.admission.reserve();
    try {
      if (input.operation.kind === 'reset' && executor !== 'dry-run' && !input.confirmed) {
        // every step of a reset destroys: name them (the install plan says which files per host), made in the pool
        const { prepared } = await this.pool.run('prepareJob', {
          spec: parsed.spec, secretsFile: this.secretsFile(input.name), executor, operation: { op: input.operation },
          ...(this.o.bundleDir ? { bundleDir: this.o.bundleDir } : {}),
        });
        throw new UnconfirmedError(destructiveSteps(prepared.plan));
      }
      const rec = this.o.store.insertCluster({
        id: newId(), name: input.name, executor, specInput, warnings: [], createdBy: input.createdBy ?? null, confirmed: input.confirmed, operation: input.operation,
      });
      this.o.log.info('job', { id: rec.id, cluster: rec.name, status: 'pending', executor, operation: input.operation.kind });
      this.start(rec.id, slot, () => this.prepareTask({ id: rec.id, executor }));
      return this.o.store.get(rec.id)!;
    } catch (e) {
      slot.release();
      throw e;
    }
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
    const document = this.lastAppliedDocument(name, except);
    if (document === undefined) return undefined;
    const parsed = parseSpec(document);
    return parsed.ok ? deriveView(parsed.spec) : undefined;
  }

  /** The stored spec of the newest successful real install of cluster `name` (other than `except`), as stored. */
  private lastAppliedDocument(name: string, except?: string): unknown {
    const rec = this.lastInstall(name, except);
    return rec ? this.o.store.spec(rec.id) : undefined;
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
   * POST /clusters: refuse a change the running cluster cannot take or that destroys without confirmation, and an
   * install whose inputs are not on this machine (MissingInputsError: the bundle or a bundle file the render needs; a
   * dry run starts without); take a place in the admission control (BusyError when none is left; or `slot`, reserved
   * by the request before it read its body), record the job (ConflictError while another install of the cluster is
   * active) and start it in the background. The answer goes out once the record is committed: the secrets, the render
   * and the plan happen after it, in the worker pool, while the job is `pending`.
   */
  async create(input: {
    spec: ClusterSpec;
    /** the document as posted, as JSON text (what is stored, and what the job is prepared from) */
    specJson: string;
    warnings: SpecIssue[]; executor: ExecutorKind; createdBy?: string; confirmed?: boolean;
    slot?: Slot;
  }): Promise<ClusterRecord> {
    const slot = input.slot ?? this.admission.reserve();
    try {
      // what the change would refuse or destroy first: a user learns it before anything else is asked of them
      this.checkChange(input.spec, input.executor, input.confirmed ?? false);
      checkStartable(deriveView(input.spec), input.executor, this.o.bundleDir);
      const rec = this.o.store.insertCluster({
        id: newId(),
        name: input.spec.metadata.name,
        executor: input.executor,
        specJson: input.specJson,
        warnings: input.warnings,
        createdBy: input.createdBy ?? null,
        confirmed: input.confirmed ?? false,
      });
      this.o.log.info('job', { id: rec.id, cluster: rec.name, status: 'pending', executor: rec.executor });
      this.start(rec.id, slot, () => this.prepareTask({ documentJson: input.specJson, name: rec.name, executor: input.executor }));
      return this.o.store.get(rec.id)!;
    } catch (e) {
      slot.release();
      throw e;
    }
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
    const slot = this.admission.reserve();
    try {
      if (!this.o.store.reopen(id, ['failed', 'cancelled'])) {
        slot.release();
        return { ok: false, why: isTerminal(this.o.store.get(id)!.status) ? 'finished' : 'active' };
      }
    } catch (e) {
      slot.release();
      if (e instanceof ConflictError) return { ok: false, why: 'conflict' };
      throw e;
    }
    this.start(id, slot, () => this.prepareTask({ id, executor: rec.executor }), 'resumed by request');
    return { ok: true, record: this.o.store.get(id)! };
  }

  /** At startup: pick up every install that was pending or running when the server stopped. */
  async recover(): Promise<number> {
    const active = this.o.store.active();
    for (const rec of active) {
      if (rec.cancelRequested) this.status(rec.id, 'cancelled', 'cancelled while the server was stopped');
      // accepted before the restart: never refused, but counted against new requests
      else this.start(rec.id, this.admission.reserve({ force: true }), () => this.prepareTask({ id: rec.id, executor: rec.executor }), 'resumed after a server restart');
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
    this.executions.stop();
    for (const r of this.running.values()) r.ac.abort(new Error('server stopping'));
    await this.idle();
    await this.executions.close();
  }

  /** An event committed here (a job ended before it ran), then told. */
  private publish(id: string, e: ServiceEvent): StoredEvent {
    const stored = this.o.store.append(id, e);
    this.stored(id, stored);
    return stored;
  }

  /** An event committed (here or in the job thread): its subscribers hear it; the WAL is checkpointed when due. */
  private stored(id: string, e: StoredEvent): void {
    if (++this.appended % 100 === 0) this.checkpointIfDue();
    for (const fn of this.listeners.get(id) ?? []) {
      try {
        fn(e);
      } catch {
        // a broken subscriber must not stop an install
      }
    }
  }

  private appended = 0;
  private checkpointing: Promise<unknown> | undefined;

  /**
   * A store whose WAL its owner checkpoints (`checkpoints: 'caller'`, the service's): once the WAL is past SQLite's
   * own mark (1000 pages of 4 KiB), copy it into the database file in the worker pool, one checkpoint at a time.
   */
  private checkpointIfDue(): void {
    if (this.o.store.checkpoints !== 'caller' || this.checkpointing || this.o.store.walBytes() < 4 * 1024 * 1024) return;
    void this.checkpointNow();
  }

  /** Checkpoints the store's WAL in the worker pool now (what {@link Jobs} does by itself as the WAL grows). */
  checkpointNow(): Promise<unknown> {
    return (this.checkpointing ??= this.pool
      .run('checkpointWal', { file: this.o.store.file })
      .catch((e: unknown) => this.o.log.error('checkpoint', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => (this.checkpointing = undefined)));
  }

  private status(id: string, status: JobStatus, reason?: string, summary?: RunTotals): void {
    jobStatus(this.o.store, this.o.log, (e) => this.publish(id, e), id, status, reason, summary);
  }

  /**
   * Run a job in the background: wait for its turn in the admission control (pending), then hand it to where jobs run
   * (./execution.ts: its start, which gives the place back, and its run). It counts as running from now on.
   */
  private start(id: string, slot: Slot, task: () => PrepareTask, reason?: string): void {
    const ac = new AbortController();
    const done = (async () => {
      await new Promise((r) => setImmediate(r)); // the HTTP answer first
      try {
        await slot.acquire(ac.signal);
      } catch {
        // stopped while waiting: a cancel ends it; at shutdown it stays pending and resumes at the next start
        slot.release();
        if (!this.stopping && this.o.store.get(id)?.cancelRequested) this.status(id, 'cancelled', 'cancelled before it started');
        return;
      }
      let t: PrepareTask;
      try {
        t = task();
      } catch (e) {
        slot.release();
        this.status(id, 'failed', describeError(e));
        return;
      }
      try {
        await this.executions.run({ id, task: t, reason, signal: ac.signal, prepared: () => slot.release() });
      } catch (e) {
        // where it ran was lost (the job thread died): it ends here
        slot.release();
        this.status(id, 'failed', describeError(e));
      }
    })()
      .catch((e) => this.o.log.error('job', { id, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => this.running.delete(id));
    this.running.set(id, { ac, done });
  }
}
