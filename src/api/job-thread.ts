// The service's job thread (started by ./job-host.ts): runs every job the event loop hands it with ./execution.ts, on
// its own connection to the service's database; each job's start (secrets, inputs, render, plan) is made on a render
// thread of its own (./pool.ts), at a lower priority (./priority.ts), so answering requests comes first. The job
// thread itself keeps the normal priority: it holds SQLite's write lock for each commit, and at nice 10 it was
// preempted while holding it, the loop's own commit (a POST's record) waiting for it up to 34 ms.
// It tells the loop what the loop needs: a start made (the admission place goes back), the committed events (for
// subscribers), each log line (the loop's logger writes it), a job's end. Events go in one message per turn of this
// thread: a message each cost this thread about 80 µs of postMessage (259 ms of its 1.75 s busy in the bench's burst,
// 9 dry runs of 339 events each) and the loop a wake-up and a dispatch each.
import { parentPort, workerData } from 'node:worker_threads';
import { JobExecution } from './execution.js';
import { maskedValues, type LogFields, type Logger } from './log.js';
import { WorkPool } from './pool.js';
import { Store, type StoredEvent } from './store.js';
import type { PrepareTask } from './work.js';
import type { ExecutorSettings } from '../install/index.js';

/** What the thread is started with: the service's database and how jobs reach hosts. */
export interface JobThreadData {
  file: string;
  sync: 'normal' | 'full';
  checkpoints: 'auto' | 'caller';
  /** without `make` (a function does not cross to a thread) */
  executors: Omit<ExecutorSettings, 'make'>;
  concurrency: number;
}

/** What the loop tells the thread. */
export type ToJobThread =
  | { type: 'run'; id: string; task: PrepareTask; reason?: string | undefined }
  | { type: 'abort'; id: string; reason: string }
  | { type: 'stop' }
  | { type: 'close' };

/** What the thread tells the loop. */
export type FromJobThread =
  | { type: 'prepared'; id: string }
  /** events committed since the last such message, in commit order */
  | { type: 'events'; items: { id: string; event: StoredEvent }[] }
  | { type: 'log'; level: 'info' | 'error'; msg: string; fields: LogFields }
  | { type: 'ended'; id: string };

const port = parentPort;
if (!port) throw new Error('src/api/job-thread.ts runs as the service\'s job thread (src/api/job-host.ts)');
/** Committed events not yet told: sent at the end of this turn, or before any other message (order kept). */
let told: { id: string; event: StoredEvent }[] = [];
const tell = () => {
  if (told.length === 0) return;
  const items = told;
  told = [];
  port.postMessage({ type: 'events', items } satisfies FromJobThread);
};
const post = (m: FromJobThread) => {
  tell();
  port.postMessage(m);
};
/** An event is committed: the loop hears it with the others of this turn. */
const committed = (id: string, event: StoredEvent) => {
  if (told.push({ id, event }) === 1) setImmediate(tell);
};

const data = workerData as JobThreadData;
const store = new Store(data.file, { sync: data.sync, checkpoints: data.checkpoints });
const renderPool = new WorkPool(undefined, 0);

/**
 * The loop's logger, seen from here: each line goes to it as fields, a running job's secrets masked here first (the
 * loop masks its own: API tokens).
 */
function loopLogger(): Logger {
  const secrets = maskedValues();
  const line = (level: 'info' | 'error', msg: string, fields: LogFields = {}) => {
    const masked: LogFields = {};
    for (const [k, v] of Object.entries(fields)) masked[k] = typeof v === 'string' ? secrets.mask(v) : v;
    post({ type: 'log', level, msg, fields: masked });
  };
  return {
    info: (msg, fields) => line('info', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
    addSecrets: (values) => secrets.add(values),
  };
}

const execution = new JobExecution({
  store,
  log: loopLogger(),
  executors: data.executors,
  concurrency: data.concurrency,
  // render threads only (no quick one: nothing here waits on a validation)
  prepare: (task) => renderPool.run('prepareJob', task),
  stored: committed,
});
const running = new Map<string, AbortController>();

port.on('message', (m: ToJobThread) => {
  switch (m.type) {
    case 'run': {
      const ac = new AbortController();
      running.set(m.id, ac);
      void execution
        .run({ id: m.id, task: m.task, reason: m.reason, signal: ac.signal, prepared: () => post({ type: 'prepared', id: m.id }) })
        .catch((e: unknown) => post({ type: 'log', level: 'error', msg: 'job', fields: { id: m.id, error: e instanceof Error ? e.message : String(e) } }))
        .finally(() => {
          running.delete(m.id);
          post({ type: 'ended', id: m.id });
        });
      break;
    }
    case 'abort':
      running.get(m.id)?.abort(new Error(m.reason));
      break;
    case 'stop':
      execution.stop();
      break;
    case 'close':
      store.close();
      void renderPool.close().then(() => port.close());
      break;
  }
});
