// The service's state in SQLite (better-sqlite3, WAL): one row per install (clusters), its events with a sequence
// number per cluster (what SSE replays from Last-Event-ID), the runner's step journal (what resume reads) and the
// per-step states shown by GET /clusters/{id}. Every change is committed before it is reported to anyone.
//
// Nothing secret is stored: the spec holds references only, the plan references files by path and sha256, events
// and journal errors arrive redacted from the runner. Secret values live in the per-cluster secrets files.
//
// Durability: WAL with synchronous=NORMAL by default — a committed transaction survives the process being killed
// (kill -9, OOM), which is the failure the resume logic is for; `full` also survives power loss at ~5 ms per
// commit (an fsync each; an install commits a few times per step). Choose with AIRGAP_K8S_DB_SYNC. The service copies
// the WAL into the database file in its worker pool (`checkpoints: 'caller'`), not inside a commit on the event loop.
import type Database from 'better-sqlite3';
import { requireForFeature } from '../optional.js';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Journal, StepRecord } from '../runner/journal.js';
import type { RunEvent } from '../runner/runner.js';

import { isTerminal, type ExecutorKind, type JobStatus } from './model.js';

export { ACTIVE, EXECUTOR_KINDS, isTerminal, JOB_STATUSES, type ExecutorKind, type JobStatus } from './model.js';

/** A job's own events, next to the runner's. */
export type StatusEvent = {
  type: 'status';
  status: JobStatus;
  /** why (resumed after a restart, cancelled by request, the error that stopped it), redacted */
  reason?: string;
  summary?: RunTotals;
};
/** An event of an install as the service keeps it: the runner's events and the job's own status changes. */
export type ServiceEvent = RunEvent | StatusEvent;
/** A stored event with its sequence number in the install (SSE `id`, `Last-Event-ID`) and its time. */
export type StoredEvent = ServiceEvent & { seq: number; at: string };

/** The counts of a finished run: steps changed, skipped and failed, and its duration. */
export interface RunTotals {
  changed: number;
  skipped: number;
  failed: number;
  durationMs: number;
}

/** A day-two operation as a job (src/day2): what to run on the cluster as last installed. */
export type Operation =
  | { kind: 'certs-renew' }
  | { kind: 'reset'; purge: boolean }
  /** a snapshot of `host`'s etcd member (null: the first control plane), kept on the service ({@link Jobs.snapshotFile}) */
  | { kind: 'etcd-snapshot'; host: string | null }
  /** the cluster's etcd restored from the snapshot that the succeeded etcd-snapshot job `snapshot` took */
  | { kind: 'etcd-restore'; snapshot: string };
/** The operations `POST /operations` runs. */
export const OPERATION_KINDS = ['certs-renew', 'reset', 'etcd-snapshot', 'etcd-restore'] as const;

/**
 * An install as `GET /clusters/{id}` reports it: status, current phase, executor, warnings, totals, dates, who started
 * it.
 */
export interface ClusterRecord {
  id: string;
  name: string;
  status: JobStatus;
  phase: string | null;
  executor: ExecutorKind;
  warnings: { path: string; code: string; message: string }[];
  cancelRequested: boolean;
  error: string | null;
  summary: RunTotals | null;
  runs: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  lastSeq: number;
  /** the name of the token that started it (never the token); null for installs recorded before it was kept */
  createdBy: string | null;
  /** the user confirmed the install's destructive steps (confirm=true) */
  confirmed: boolean;
  /** a day-two operation on the cluster (POST /operations), or null for an install of its spec */
  operation: Operation | null;
}

/**
 * A step's latest state in an install: running, retrying, done, skipped, failed, or interrupted (in flight when the
 * install was cancelled or the service stopped: not failed on its own, and a resume runs it again), with its
 * attempts, times and error.
 */
export interface StepState {
  stepId: string;
  state: 'running' | 'retrying' | 'done' | 'skipped' | 'failed' | 'interrupted';
  host: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  changed: boolean | null;
  reason: string | null;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clusters (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  phase TEXT,
  executor TEXT NOT NULL,
  warnings TEXT NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  summary TEXT,
  runs INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0,
  journal_seq INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  confirmed INTEGER NOT NULL DEFAULT 0,
  operation TEXT
);
-- at most one install per cluster name at a time: the database refuses a second, not only the code
CREATE UNIQUE INDEX IF NOT EXISTS clusters_one_active_per_name ON clusters(name) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS clusters_by_created ON clusters(created_at);
-- one cluster's installs, newest first (every POST /clusters looks up the last successful one): not a scan of all
CREATE INDEX IF NOT EXISTS clusters_by_name ON clusters(name, created_at);
-- the large documents apart from the small, often-updated row (an update rewrites the whole row)
CREATE TABLE IF NOT EXISTS documents (
  cluster_id TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  plan TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  cluster_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (cluster_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
  cluster_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (cluster_id, step_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS step_states (
  cluster_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  state TEXT NOT NULL,
  host TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  changed INTEGER,
  reason TEXT,
  error TEXT,
  PRIMARY KEY (cluster_id, step_id)
) WITHOUT ROWID;
`;

type Row = {
  id: string;
  name: string;
  status: JobStatus;
  phase: string | null;
  executor: ExecutorKind;
  warnings: string;
  cancel_requested: number;
  error: string | null;
  summary: string | null;
  runs: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  last_seq: number;
  created_by: string | null;
  confirmed: number | null;
  operation: string | null;
};

const fromRow = (r: Row): ClusterRecord => ({
  id: r.id,
  name: r.name,
  status: r.status,
  phase: r.phase,
  executor: r.executor,
  warnings: JSON.parse(r.warnings) as ClusterRecord['warnings'],
  cancelRequested: r.cancel_requested === 1,
  error: r.error,
  summary: r.summary ? (JSON.parse(r.summary) as RunTotals) : null,
  runs: r.runs,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  lastSeq: r.last_seq,
  createdBy: r.created_by ?? null,
  confirmed: r.confirmed === 1,
  operation: r.operation ? (JSON.parse(r.operation) as Operation) : null,
});

/** A sortable id: 10 characters of milliseconds then 16 random, Crockford base32 lower case (26 in all). */
export function newId(now = Date.now()): string {
  const A = '0123456789abcdefghjkmnpqrstvwxyz';
  let t = '';
  let n = now;
  for (let i = 0; i < 10; i++) {
    t = A[n % 32] + t;
    n = Math.floor(n / 32);
  }
  const r = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += A[r[i]! % 32];
  return t + s;
}
export const ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** Thrown when an install is started for a cluster name that has one active already (the API answers 409). */
export class ConflictError extends Error {
  constructor(readonly cluster: string) {
    super(`cluster "${cluster}" already has an install running`);
    this.name = 'ConflictError';
  }
}

/** How long a write waits for another connection's write lock (SQLite's busy_timeout, and {@link writeNow}'s). */
export const BUSY_TIMEOUT_MS = 5000;

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `write` (a statement or a transaction) on `db`, trying again every 0.2 ms while another connection of the
 * service (the job thread's) holds SQLite's write lock, for up to {@link BUSY_TIMEOUT_MS}. SQLite's own busy handler
 * sleeps 1, 2, 5, 10 ms... between tries, so a lock held 1.5 ms costs the waiting thread 3 ms and one held 4 ms costs
 * 8. Measured on the event loop over 2x200 one-at-a-time POSTs (2 writes each): the longest write 4.3 and 8.9 ms with
 * SQLite's handler, 3.2 and 4.7 ms with this. For the loop's writes on the request path; the rest keep SQLite's.
 */
export function writeNow<T>(db: Database.Database, write: () => T): T {
  // (SQLite sets busy_timeout when the pragma is compiled: a prepared one kept and run again changes nothing)
  db.pragma('busy_timeout = 0');
  try {
    const end = performance.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      try {
        return write();
      } catch (e) {
        if (!String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() >= end) throw e;
        Atomics.wait(nap, 0, 0, 0.2);
      }
    }
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/**
 * The service's state in one SQLite file: installs (clusters), their documents (spec, plan), events, step states and
 * journals. Needs the optional dependency better-sqlite3.
 */
export class Store {
  readonly db: Database.Database;
  private readonly now: () => string;

  /**
   * `checkpoints: 'caller'`: SQLite never checkpoints the WAL into the database file on a commit (its default does,
   * every 1000 pages, with an fsync, inside whichever commit crosses the mark: 100-200 ms on a busy disk, on the event
   * loop); the owner runs {@link Store.walBytes} and a checkpoint elsewhere (the service: in its worker pool).
   */
  constructor(readonly file: string, opts: { sync?: 'normal' | 'full'; now?: () => string; checkpoints?: 'auto' | 'caller' } = {}) {
    // loaded here, on first use: importing the API's modules needs no native module (src/optional.ts)
    const Sqlite = requireForFeature<typeof Database>('the REST service (airgap-k8s serve, airgap-k8s/api)', 'better-sqlite3');
    this.db = new Sqlite(file);
    this.now = opts.now ?? (() => new Date().toISOString());
    this.sync = opts.sync ?? 'normal';
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (opts.checkpoints === 'caller') this.db.pragma('wal_autocheckpoint = 0');
    this.checkpoints = opts.checkpoints ?? 'auto';
    this.db.exec(SCHEMA);
    // databases made before installs recorded who started them
    const columns = this.db.prepare('PRAGMA table_info(clusters)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'created_by')) this.db.exec('ALTER TABLE clusters ADD COLUMN created_by TEXT');
    if (!columns.some((c) => c.name === 'confirmed')) this.db.exec('ALTER TABLE clusters ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0');
    if (!columns.some((c) => c.name === 'operation')) this.db.exec('ALTER TABLE clusters ADD COLUMN operation TEXT');
  }

  /** Closes the database (again: no effect). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Who checkpoints the WAL: SQLite on commits (`auto`), or the store's owner (`caller`). */
  readonly checkpoints: 'auto' | 'caller';
  /** How commits are synced: `normal` (WAL: durable at the next checkpoint) or `full` (each commit). */
  readonly sync: 'normal' | 'full';

  /** The size of the write-ahead log file (0 when there is none). */
  walBytes(): number {
    try {
      return statSync(`${this.file}-wal`).size;
    } catch {
      return 0;
    }
  }

  private readonly statements = new Map<string, Database.Statement>();
  /** prepared once per SQL text (compiling a statement costs more than running it) */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** Whether the database answers a query (readiness). */
  ping(): boolean {
    return (this.stmt('SELECT 1 AS one').get() as { one: number }).one === 1;
  }

  /** Reserve an install: refused (ConflictError) while another install of the same cluster name is active. */
  insertCluster(
    c: { id: string; name: string; executor: ExecutorKind; warnings: ClusterRecord['warnings']; createdBy?: string | null; confirmed?: boolean; operation?: Operation } & (
      | { specInput: unknown }
      /** the spec document as JSON text already */
      | { specJson: string }
    ),
  ): ClusterRecord {
    const now = this.now();
    try {
      writeNow(this.db, this.db.transaction(() => {
        this.stmt(
          `INSERT INTO clusters (id, name, status, executor, warnings, created_at, updated_at, created_by, confirmed, operation)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
        ).run(c.id, c.name, c.executor, JSON.stringify(c.warnings), now, now, c.createdBy ?? null, c.confirmed ? 1 : 0, c.operation ? JSON.stringify(c.operation) : null);
        this.stmt('INSERT INTO documents (cluster_id, spec) VALUES (?, ?)').run(c.id, 'specJson' in c ? c.specJson : JSON.stringify(c.specInput));
      }));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(c.name);
      throw e;
    }
    return this.get(c.id)!;
  }

  /** The install with this id, if any. */
  get(id: string): ClusterRecord | undefined {
    const r = this.stmt('SELECT * FROM clusters WHERE id = ?').get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** Installs, newest first, optionally of one cluster name or status, at most `limit`. */
  list(f: { name?: string; status?: JobStatus; limit: number }): ClusterRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.name) {
      where.push('name = ?');
      args.push(f.name);
    }
    if (f.status) {
      where.push('status = ?');
      args.push(f.status);
    }
    const sql = `SELECT * FROM clusters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.stmt(sql).all(...args, f.limit) as Row[]).map(fromRow);
  }

  /** Installs the server must pick up again at startup (they were pending or running when it stopped). */
  active(): ClusterRecord[] {
    return (this.stmt(`SELECT * FROM clusters WHERE status IN ('pending', 'running') ORDER BY created_at`).all() as Row[]).map(fromRow);
  }

  /** the spec document as submitted (parsed to JSON data; references only) */
  spec(id: string): unknown {
    const r = this.stmt('SELECT spec FROM documents WHERE cluster_id = ?').get(id) as { spec: string } | undefined;
    return r ? (JSON.parse(r.spec) as unknown) : undefined;
  }

  /** the plan as JSON text, or null before it was made */
  plan(id: string): string | null {
    const r = this.stmt('SELECT plan FROM documents WHERE cluster_id = ?').get(id) as { plan: string | null } | undefined;
    return r?.plan ?? null;
  }

  /** Stores the printed plan of an install. */
  setPlan(id: string, plan: string): void {
    this.stmt('UPDATE documents SET plan = ? WHERE cluster_id = ?').run(plan, id);
  }

  /** Marks an install as cancel-requested, so a restarted service does not resume it. */
  requestCancel(id: string): void {
    this.stmt('UPDATE clusters SET cancel_requested = 1, updated_at = ? WHERE id = ?').run(this.now(), id);
  }

  /**
   * Move a finished install back to pending (resume), unless another install of its cluster is active.
   * Returns false when the record is not in one of `from`.
   */
  reopen(id: string, from: readonly JobStatus[]): boolean {
    try {
      const r = this.stmt(
        `UPDATE clusters SET status = 'pending', cancel_requested = 0, error = NULL, finished_at = NULL, updated_at = ?
         WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})`,
      ).run(this.now(), id, ...from);
      return r.changes === 1;
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(this.get(id)?.name ?? id);
      throw e;
    }
  }

  /** Remove a record with its events, journal and step states (not while active: returns false). */
  delete(id: string): boolean {
    return this.db.transaction(() => {
      const r = this.stmt(`DELETE FROM clusters WHERE id = ? AND status NOT IN ('pending', 'running')`).run(id);
      if (r.changes !== 1) return false;
      for (const t of ['documents', 'events', 'journal', 'step_states']) this.stmt(`DELETE FROM ${t} WHERE cluster_id = ?`).run(id);
      return true;
    })();
  }

  /**
   * Append an event and apply what it means to the record and the step states, in one transaction.
   * Returns the stored event (with its sequence number) for fan-out.
   */
  append(id: string, e: ServiceEvent): StoredEvent {
    this.appendTx ??= this.db.transaction((cid: string, ev: ServiceEvent): StoredEvent => {
      const at = this.now();
      const row = this.stmt('UPDATE clusters SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq').get(at, cid) as { last_seq: number } | undefined;
      if (!row) throw new Error(`no cluster ${cid}`);
      const stored = { ...ev, seq: row.last_seq, at } as StoredEvent;
      this.stmt('INSERT INTO events (cluster_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)').run(cid, stored.seq, ev.type, at, JSON.stringify(stored));
      this.apply(cid, ev, at);
      return stored;
    });
    return this.appendTx(id, e);
  }

  private appendTx: ((id: string, e: ServiceEvent) => StoredEvent) | undefined;

  private apply(id: string, e: ServiceEvent, at: string): void {
    const step = (stepId: string, host: string, set: Record<string, unknown>) => {
      const cols = Object.keys(set);
      this.stmt(
        `INSERT INTO step_states (cluster_id, step_id, host, ${cols.join(', ')}) VALUES (?, ?, ?, ${cols.map(() => '?').join(', ')})
         ON CONFLICT (cluster_id, step_id) DO UPDATE SET host = excluded.host, ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
      ).run(id, stepId, host, ...Object.values(set));
    };
    switch (e.type) {
      case 'status': {
        const terminal = isTerminal(e.status);
        this.stmt(
          `UPDATE clusters SET status = ?,
             error = CASE WHEN ? = 'failed' THEN ? ELSE NULL END,
             summary = COALESCE(?, summary),
             runs = runs + CASE WHEN ? = 'running' THEN 1 ELSE 0 END,
             started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END,
             finished_at = CASE WHEN ? THEN ? ELSE NULL END
           WHERE id = ?`,
        ).run(e.status, e.status, e.reason ?? null, e.summary ? JSON.stringify(e.summary) : null, e.status, e.status, at, terminal ? 1 : 0, at, id);
        break;
      }
      case 'phase-started':
        this.stmt('UPDATE clusters SET phase = ? WHERE id = ?').run(e.phase, id);
        break;
      case 'step-started':
        step(e.stepId, e.host, { state: 'running', attempts: e.attempt, started_at: at, finished_at: null, duration_ms: null, changed: null, reason: null, error: null });
        break;
      case 'step-finished':
        step(e.stepId, e.host, { state: 'done', finished_at: at, duration_ms: e.durationMs, changed: e.changed ? 1 : 0 });
        break;
      case 'step-skipped':
        step(e.stepId, e.host, { state: 'skipped', finished_at: at, duration_ms: 0, reason: e.reason, changed: 0 });
        break;
      case 'step-failed':
        step(e.stepId, e.host, { state: e.interrupted ? 'interrupted' : e.willRetry ? 'retrying' : 'failed', attempts: e.attempt, finished_at: e.willRetry ? null : at, duration_ms: e.durationMs, error: e.error });
        break;
      default:
        break;
    }
  }

  /** Events with seq > after, in order (at most `limit`). */
  eventsAfter(id: string, after: number, limit = 1_000_000): StoredEvent[] {
    return (this.stmt('SELECT data FROM events WHERE cluster_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(id, after, limit) as { data: string }[]).map(
      (r) => JSON.parse(r.data) as StoredEvent,
    );
  }

  /** Each step's latest state in an install (the console's phase x host grid). */
  stepStates(id: string): StepState[] {
    type S = { step_id: string; state: StepState['state']; host: string; attempts: number; started_at: string | null; finished_at: string | null; duration_ms: number | null; changed: number | null; reason: string | null; error: string | null };
    return (this.stmt('SELECT * FROM step_states WHERE cluster_id = ?').all(id) as S[]).map((s) => ({
      stepId: s.step_id,
      state: s.state,
      host: s.host,
      attempts: s.attempts,
      startedAt: s.started_at,
      finishedAt: s.finished_at,
      durationMs: s.duration_ms,
      changed: s.changed === null ? null : s.changed === 1,
      reason: s.reason,
      error: s.error,
    }));
  }

  /** The install's runner journal, kept in this database. */
  journal(id: string): SqliteJournal {
    return new SqliteJournal(this.db, id);
  }
}

/** The runner's Journal on SQLite: a row per step, the sequence counter on the cluster's row. Read through a cache. */
export class SqliteJournal implements Journal {
  private readonly cache = new Map<string, StepRecord>();
  private readonly putStmt: Database.Statement;
  private readonly seqStmt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    readonly clusterId: string,
  ) {
    for (const r of db.prepare('SELECT step_id, record FROM journal WHERE cluster_id = ?').all(clusterId) as { step_id: string; record: string }[]) {
      this.cache.set(r.step_id, JSON.parse(r.record) as StepRecord);
    }
    this.putStmt = db.prepare(
      'INSERT INTO journal (cluster_id, step_id, record) VALUES (?, ?, ?) ON CONFLICT (cluster_id, step_id) DO UPDATE SET record = excluded.record',
    );
    this.seqStmt = db.prepare('UPDATE clusters SET journal_seq = journal_seq + 1 WHERE id = ? RETURNING journal_seq');
  }

  get(stepId: string): StepRecord | undefined {
    const r = this.cache.get(stepId);
    return r && { ...r };
  }

  put(stepId: string, rec: StepRecord): void {
    this.putStmt.run(this.clusterId, stepId, JSON.stringify(rec));
    this.cache.set(stepId, { ...rec });
  }

  nextSeq(): number {
    const r = this.seqStmt.get(this.clusterId) as { journal_seq: number } | undefined;
    if (!r) throw new Error(`no cluster ${this.clusterId}`);
    return r.journal_seq;
  }

  forget(stepIds: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM journal WHERE cluster_id = ? AND step_id = ?');
    for (const id of stepIds) {
      del.run(this.clusterId, id);
      this.cache.delete(id);
    }
  }

  all(): Record<string, StepRecord> {
    return Object.fromEntries([...this.cache].map(([k, v]) => [k, { ...v }]));
  }
}
