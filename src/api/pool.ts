// The service's worker pool: the event loop only routes, and the CPU-heavy work of ./work.ts (a spec parsed and
// validated, a job's secrets, render and plan) runs on a few worker threads, one per core, shared by every service
// in the process. Inputs and results cross by structured clone (plain data). Threads start on first use, hold the
// process open only while they have work, and one that dies is replaced (its task fails, the others go on).
//
// One place knows how a thread is started: the built package (dist/, .js) runs ./worker.js natively; from the
// TypeScript sources (tsx, vitest) the thread registers tsx first, then imports ./worker.ts (Node 20 does not apply
// module hooks given in a Worker's execArgv, nodejs/node#47747, so `--import tsx` there is not enough).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TASKS, TaskName } from './work.js';
import type { ResultMessage, TaskMessage } from './worker.js';

/** What a task of ./work.ts takes and gives. */
export type TaskInput<K extends TaskName> = Parameters<(typeof TASKS)[K]>[0];
export type TaskOutput<K extends TaskName> = Awaited<ReturnType<(typeof TASKS)[K]>>;

/** `high` goes first: short work someone waits on (a request's validation) before long work (a job's render). */
export type Priority = 'high' | 'normal';

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

/** A fixed number of worker threads running ./work.ts tasks in order of priority, then arrival. */
export class WorkPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queues: Record<Priority, Pending[]> = { high: [], normal: [] };
  private threads = 0;
  private closed = false;

  constructor(readonly size: number = Math.max(1, availableParallelism())) {}

  /** Runs task `task` on a thread; rejects with TaskError when it throws there, or when its thread dies. */
  run<K extends TaskName>(task: K, input: TaskInput<K>, priority: Priority = 'normal'): Promise<TaskOutput<K>> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queues[priority].push({ message: { task, input }, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Starts every thread now (a service as it opens), so the first requests do not wait for threads to load. */
  warm(): void {
    while (!this.closed && this.threads < this.size) {
      const w = this.spawn();
      w.unref();
      this.idle.push(w);
    }
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.queues.high.length + this.queues.normal.length;
  }

  /** Stops every thread; tasks still waiting or running fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queues.high.splice(0), ...this.queues.normal.splice(0)]) p.reject(new Error('the worker pool is closed'));
    await Promise.all([...this.idle.splice(0), ...this.busy.keys()].map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.queued > 0) {
      const w = this.idle.pop() ?? (this.threads < this.size ? this.spawn() : undefined);
      if (!w) return;
      const p = (this.queues.high.shift() ?? this.queues.normal.shift())!;
      this.busy.set(w, p);
      w.ref(); // working: the process waits for it
      w.postMessage(p.message);
    }
  }

  private spawn(): Worker {
    const w = startThread();
    this.threads++;
    w.on('message', (r: ResultMessage) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      w.unref(); // idle: the process may end without closing the pool
      this.idle.push(w);
      if (p) {
        if (r.ok) p.resolve(r.output);
        else p.reject(new TaskError(r.error.name, r.error.message));
      }
      this.pump();
    });
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new Error(`a worker thread of the service exited (code ${code})`)));
    return w;
  }

  /** A thread died: its task fails, and the next task gets a new thread. */
  private lost(w: Worker, e: Error): void {
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    const p = this.busy.get(w);
    const known = i >= 0 || p !== undefined;
    this.busy.delete(w);
    if (!known) return; // already counted out ('error' comes before 'exit')
    this.threads--;
    p?.reject(new TaskError('WorkerError', `the worker thread failed: ${e.message}`));
    if (!this.closed) this.pump();
  }
}

/** A worker thread running ./worker.js, or ./worker.ts through tsx when this module runs from the sources. */
function startThread(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', here).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}

let shared: WorkPool | undefined;

/** The process's pool, one thread per core (made on first use; its threads start when work arrives). */
export function workPool(): WorkPool {
  return (shared ??= new WorkPool());
}
