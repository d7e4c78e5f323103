// A thread of the service's worker pool (./pool.ts): runs the tasks of ./work.ts it is given (at most one per
// priority at a time) and answers each, by id, with its result or with the error as a job's record would show it
// (never a stack: it may quote input).
//
// A background thread (one that renders and plans, not the quick one) lowers its own priority (./priority.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from './priority.js';
import { describeError, TASKS, type TaskName } from './work.js';

/** A task for this thread. */
export interface TaskMessage {
  id: number;
  task: TaskName;
  input: unknown;
}
/** What the pool tells a thread as it starts it. */
export interface ThreadData {
  /** work that nobody waits on directly: run at a lower priority than the event loop */
  background: boolean;
}

/** What the thread answers. */
export type ResultMessage = { id: number } & ({ ok: true; output: unknown } | { ok: false; error: { name: string; message: string } });

const port = parentPort;
if (!port) throw new Error('src/api/worker.ts runs as a worker thread of the service\'s pool (src/api/pool.ts)');
if ((workerData as ThreadData | undefined)?.background) lowerThreadPriority();
port.on('message', (m: TaskMessage) => {
  void (async (): Promise<ResultMessage> => {
    try {
      return { id: m.id, ok: true, output: await (TASKS[m.task] as (i: unknown) => Promise<unknown>)(m.input) };
    } catch (e) {
      return { id: m.id, ok: false, error: { name: e instanceof Error ? e.name : 'Error', message: describeError(e) } };
    }
  })().then((r) => port.postMessage(r));
});
