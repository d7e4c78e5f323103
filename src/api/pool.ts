// The service's worker pool: the event loop only routes, and the CPU-heavy work of ./work.ts (a spec parsed and
// validated, a job's secrets, render and plan) runs on a few worker threads, one per core but the event loop's, plus
// one that takes only short work someone waits on (a request's validation), shared by every service in the process. Inputs and results cross by structured clone (plain data). Threads start
// with the first service (or task), hold the process open only while they have work, and one that dies is replaced
// (its tasks fail, the others go on).
// How a thread starts (the built package or the sources): ../threads.ts.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../threads.js';
import type { TASKS, TaskName } from './work.js';
import type { ResultMessage, TaskMessage, ThreadData } from './worker.js';

/** What a task of ./work.ts takes and gives. */
export type TaskInput<K extends TaskName> = Parameters<(typeof TASKS)[K]>[0];
export type TaskOutput<K extends TaskName> = Awaited<ReturnType<(typeof TASKS)[K]>>;

/** `high` goes first: short work someone waits on (a request's validation) before long work (a job's render). */
export type Priority = 'high' | 'normal';

/** A thread's tasks in flight, one per lane; a quick thread takes `high` tasks only. */
interface Lanes extends Record<Priority, Pending | undefined> {
  quick: boolean;
}

interface Pending {
  message: TaskMessage;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** A failed task's error as the thread reported it: its name and message (no stack). */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * A fixed number of worker threads running ./work.ts tasks in order of priority, then arrival. Each thread has a lane
 * per priority: it takes one task of each at a time, so a validation is not held up by a job's start that is
 * waiting for I/O; a job's start that computes holds the thread's JavaScript until it is done, like any synchronous
 * work. So the `quick` threads take `high` tasks only: a request's validation (a few ms) does not wait for a render
 * (tens of ms, hundreds at 500 hosts) that a normal thread is in the middle of.
 */
export class WorkPool {
  private readonly threads = new Map<Worker, Lanes>();
  private readonly queues: Record<Priority, Pending[]> = { high: [], normal: [] };
  private nextId = 0;
  private closed = false;

  /**
   * `size` threads; by default one per core but one, which is left to the event loop: on 2 cores, 2 threads beside
   * the loop made /healthz during a burst of new clusters wait about twice as long (p99 140-320 ms against 60-120 ms)
   * and the answers too, for no more throughput.
   */
  constructor(
    readonly size: number = Math.max(1, availableParallelism() - 1),
    /** threads for `high` tasks only, beside the `size` that take both: short work, so they cost little CPU */
    readonly quick = 1,
  ) {}

  /** Runs task `task` on a thread; rejects with TaskError when it throws there, or when its thread dies. */
  run<K extends TaskName>(task: K, input: TaskInput<K>, priority: Priority = 'normal'): Promise<TaskOutput<K>> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queues[priority].push({ message: { id: this.nextId++, task, input }, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Starts every thread now (a service as it opens), so the first requests do not wait for threads to load. */
  warm(): void {
    while (!this.closed && this.count(true) < this.quick) this.spawn(true);
    while (!this.closed && this.count(false) < this.size) this.spawn(false);
  }

  /** The threads started now, quick and normal. */
  get started(): { quick: number; normal: number } {
    return { quick: this.count(true), normal: this.count(false) };
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.queues.high.length + this.queues.normal.length;
  }

  /** Stops every thread; tasks still waiting or running fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queues.high.splice(0), ...this.queues.normal.splice(0)]) p.reject(new Error('the worker pool is closed'));
    await Promise.all([...this.threads.keys()].map((w) => w.terminate()));
  }

  private count(quick: boolean): number {
    return [...this.threads.values()].filter((l) => l.quick === quick).length;
  }

  /**
   * Hands queued tasks to free lanes: a thread with nothing to do first, then a new thread while there are fewer than
   * allowed, then one busy in the other lane only. With quick threads, `high` tasks go to them alone: a normal thread
   * runs at nice 10, and its other lane may be in synchronous work (a WAL checkpoint waits for its fsync, up to
   * hundreds of ms, with the thread's JavaScript held), so a validation placed there waited for it (issue 13: POST
   * p99 88-131 ms with 8 in flight, once renders no longer kept the normal threads busy).
   */
  private pump(): void {
    for (const lane of ['high', 'normal'] as const) {
      const quick = lane === 'high' && this.quick > 0;
      while (this.queues[lane].length > 0) {
        const free = [...this.threads].filter(([, l]) => !l[lane] && l.quick === quick);
        const idle = free.filter(([, l]) => !l.high && !l.normal);
        const w = idle[0]?.[0] ?? (this.count(quick) < (quick ? this.quick : this.size) ? this.spawn(quick) : free[0]?.[0]);
        if (!w) break;
        const p = this.queues[lane].shift()!;
        this.threads.get(w)![lane] = p;
        w.ref(); // working: the process waits for it
        w.postMessage(p.message);
      }
    }
  }

  private spawn(quick: boolean): Worker {
    // the threads that render and plan yield the CPU to the event loop and the quick thread (./priority.ts)
    const w = startModuleThread(import.meta.url, 'worker', { background: !quick } satisfies ThreadData);
    this.threads.set(w, { high: undefined, normal: undefined, quick });
    w.on('message', (r: ResultMessage) => {
      const lanes = this.threads.get(w);
      if (!lanes) return;
      const lane = lanes.high?.message.id === r.id ? 'high' : 'normal';
      const p = lanes[lane];
      lanes[lane] = undefined;
      if (!lanes.high && !lanes.normal) w.unref();
      if (p) {
        if (r.ok) p.resolve(r.output);
        else p.reject(new TaskError(r.error.name, r.error.message));
      }
      this.pump();
    });
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new Error(`a worker thread of the service exited (code ${code})`)));
    // idle: the process may end without closing the pool (after the listeners: adding a 'message' one refs the port)
    w.unref();
    return w;
  }

  /** A thread died: its tasks fail, and the next task gets a new thread. */
  private lost(w: Worker, e: Error): void {
    const lanes = this.threads.get(w);
    if (!lanes) return; // already counted out ('error' comes before 'exit')
    this.threads.delete(w);
    for (const p of [lanes.high, lanes.normal]) p?.reject(new TaskError('WorkerError', `the worker thread failed: ${e.message}`));
    if (!this.closed) this.pump();
  }
}

let shared: WorkPool | undefined;

/** The process's pool, one thread per core but one and a quick one (made on first use). */
export function workPool(): WorkPool {
  return (shared ??= new WorkPool());
}
