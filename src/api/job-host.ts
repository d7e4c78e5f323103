// The event loop's side of the job thread (./job-thread.ts): hands it each job as plain data, turns an abort into a
// message, and hears back what the loop needs (a start made, each committed event, log lines, a job's end). The
// thread starts with the first job, holds the process open only while it has jobs, and closes with the service. If it
// dies, the jobs it was running end with an error (./jobs.ts records them failed) and the next job gets a new thread.
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../threads.js';
import type { Executions, RunRequest } from './execution.js';
import type { FromJobThread, JobThreadData, ToJobThread } from './job-thread.js';
import type { Logger } from './log.js';
import type { StoredEvent } from './store.js';

interface Running {
  request: RunRequest;
  resolve(): void;
  reject(e: Error): void;
  onAbort(): void;
}

/** Runs jobs in the job thread: {@link Executions} for ./jobs.ts. */
export class JobThreadExecutions implements Executions {
  private thread: Worker | undefined;
  private readonly running = new Map<string, Running>();
  private stopping = false;

  constructor(
    private readonly data: JobThreadData,
    private readonly o: { log: Logger; stored(id: string, e: StoredEvent): void },
  ) {}

  run(request: RunRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { id, signal } = request;
      const onAbort = () => this.send({ type: 'abort', id, reason: signal.reason instanceof Error ? signal.reason.message : String(signal.reason) });
      const w = this.worker();
      this.running.set(id, { request, resolve, reject, onAbort });
      w.ref(); // a job runs: the process waits for it
      this.send({ type: 'run', id, task: request.task, reason: request.reason });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  stop(): void {
    this.stopping = true;
    if (this.thread) this.send({ type: 'stop' });
  }

  async close(): Promise<void> {
    const w = this.thread;
    if (!w) return;
    this.thread = undefined;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ type: 'close' } satisfies ToJobThread);
    // closes its database and ends; a thread stuck in a job is ended all the same
    const timer = setTimeout(() => void w.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private send(m: ToJobThread): void {
    this.thread?.postMessage(m);
  }

  private worker(): Worker {
    if (this.thread) return this.thread;
    const w = startModuleThread(import.meta.url, 'job-thread', this.data);
    this.thread = w;
    w.on('message', (m: FromJobThread) => this.heard(m));
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new Error(`exited with code ${code}`)));
    if (this.stopping) w.postMessage({ type: 'stop' } satisfies ToJobThread);
    w.unref();
    return w;
  }

  private heard(m: FromJobThread): void {
    switch (m.type) {
      case 'events':
        for (const { id, event } of m.items) this.o.stored(id, event);
        break;
      case 'log':
        this.o.log[m.level](m.msg, m.fields);
        break;
      case 'prepared':
        this.running.get(m.id)?.request.prepared();
        break;
      case 'ended':
        this.end(m.id)?.resolve();
        break;
    }
  }

  private end(id: string): Running | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    this.running.delete(id);
    r.request.signal.removeEventListener('abort', r.onAbort);
    if (this.running.size === 0) this.thread?.unref();
    return r;
  }

  /** The thread is gone: every job it ran ends with this error, and the next job starts a new thread. */
  private lost(w: Worker, e: Error): void {
    if (this.thread === w) this.thread = undefined;
    for (const id of [...this.running.keys()]) {
      const r = this.end(id)!;
      r.request.prepared();
      r.reject(new Error(`the job thread failed: ${e.message}`));
    }
  }
}
