// A job once it has its turn: its start made (secrets, bundle inputs, render, plan), its plan stored, then run by the
// install pipeline with every event committed before anyone hears of it. Written once, hosted two ways:
// - in the service's job thread (./job-thread.ts, the default): the thread has its own connection to the service's
//   database and has the start made on a render thread of its own, so neither the plan nor the run's events and
//   SQLite writes touch the event loop, which only routes (./jobs.ts hears the committed events by message, for its
//   subscribers);
// - on the caller's thread, the start made in the worker pool, when the executors are made by a function (tests that
//   record commands or listen for connections: a function cannot cross to a thread).
import type { Logger } from './log.js';
import type { Store, JobStatus, RunTotals, ServiceEvent, StoredEvent } from './store.js';
import { describeError, type PreparedJob, type PrepareTask } from './work.js';
import { Redactor, secretValues } from '../runner/redact.js';
import { runInstall, type ExecutorSettings } from '../install/index.js';

/** How one job runs once it has its turn ({@link Executions.run}). */
export interface RunRequest {
  id: string;
  /** what its start needs (gathered from the store by the event loop) */
  task: PrepareTask;
  /** why it runs again, for its `running` event (resumed by request, after a restart) */
  reason?: string | undefined;
  /** aborts it: a cancel (recorded in the store first) or the service stopping ({@link Executions.stop} first) */
  signal: AbortSignal;
  /** called once its start is made or failed: the admission control's place is given back */
  prepared(): void;
}

/** Where jobs run: on this thread ({@link JobExecution}) or in the job thread (./job-host.ts). */
export interface Executions {
  /** Runs one job to its end (its last event stored); rejects only when the place it ran in was lost. */
  run(r: RunRequest): Promise<void>;
  /** The service is stopping: jobs aborted from now on stay `running`, to be resumed at the next start. */
  stop(): void;
  /** Frees what it holds (after every job has ended). */
  close(): Promise<void>;
}

/** What {@link JobExecution} needs: the store it writes, the log, how hosts are reached and how a start is made. */
export interface ExecutionOptions {
  store: Store;
  log: Logger;
  executors: ExecutorSettings;
  /** hosts at once within a phase */
  concurrency: number;
  prepare(task: PrepareTask): Promise<PreparedJob>;
  /** an event was committed (fan-out to subscribers, WAL bookkeeping) */
  stored(id: string, e: StoredEvent): void;
}

/** Runs jobs on the thread it is made on (the job thread's, or the caller's). */
export class JobExecution implements Executions {
  private stopping = false;

  constructor(private readonly o: ExecutionOptions) {}

  stop(): void {
    this.stopping = true;
  }

  async close(): Promise<void> {}

  async run(r: RunRequest): Promise<void> {
    const { id } = r;
    let prepared: PreparedJob;
    try {
      prepared = await this.o.prepare(r.task);
    } catch (e) {
      this.status(id, 'failed', describeError(e));
      return;
    } finally {
      r.prepared();
    }
    const p = prepared.prepared;
    const redactor = new Redactor(secretValues(p.secrets));
    this.o.store.setPlan(id, prepared.planJson);
    const rec = this.o.store.get(id)!;
    if (rec.cancelRequested) return this.status(id, 'cancelled', 'cancelled before it started');
    if (r.signal.aborted) return; // shutdown: stays pending, resumes at the next start
    const release = this.o.log.addSecrets(secretValues(p.secrets));
    try {
      this.status(id, 'running', r.reason);
      const { summary } = await runInstall(p, {
        // a dry run destroys nothing; a real one only what confirm=true allowed when it was posted
        confirmed: rec.confirmed || p.executor === 'dry-run',
        journal: this.o.store.journal(id),
        concurrency: this.o.concurrency,
        signal: r.signal,
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
      this.status(id, 'failed', redactor.text(describeError(e)));
    } finally {
      release();
    }
  }

  /** Commits an event, then tells whoever listens. */
  publish(id: string, e: ServiceEvent): StoredEvent {
    const stored = this.o.store.append(id, e);
    this.o.stored(id, stored);
    return stored;
  }

  /** A job's status as an event, and as a log line. */
  status(id: string, status: JobStatus, reason?: string, summary?: RunTotals): void {
    jobStatus(this.o.store, this.o.log, (e) => this.publish(id, e), id, status, reason, summary);
  }
}

/** Stores a job's new status through `publish` and logs it (what both {@link JobExecution} and ./jobs.ts do). */
export function jobStatus(store: Store, log: Logger, publish: (e: ServiceEvent) => unknown, id: string, status: JobStatus, reason?: string, summary?: RunTotals): void {
  publish({ type: 'status', status, ...(reason ? { reason } : {}), ...(summary ? { summary } : {}) });
  const rec = store.get(id);
  log.info('job', { id, cluster: rec?.name, status, reason, changed: summary?.changed, failed: summary?.failed, ms: summary?.durationMs });
}
