// The bulk thread of the SSH executor (./bulk.ts): one SshExecutor per executor of the main thread (by key, same
// options), each with its own connection; runs the commands it is sent and answers with the result or the error.
import { parentPort } from 'node:worker_threads';
import { toBulkError, type BulkReply, type BulkRequest } from './bulk.js';
import { SshExecutor, type SshExecutorOptions } from './ssh.js';

const port = parentPort;
if (!port) throw new Error('src/executors/ssh/bulk-thread.ts runs as the SSH executor\'s transfer thread (./bulk.ts)');
const executors = new Map<string, SshExecutor>();
const running = new Map<number, AbortController>();

port.on('message', (m: BulkRequest) => {
  if (m.kind === 'abort') return running.get(m.id)?.abort(new Error('aborted by the caller'));
  if (m.kind === 'close') {
    const e = executors.get(m.key);
    executors.delete(m.key);
    void e?.close();
    return;
  }
  let exec = executors.get(m.key);
  if (!exec) executors.set(m.key, (exec = new SshExecutor({ ...(m.options as SshExecutorOptions), bulk: false })));
  const ac = new AbortController();
  running.set(m.id, ac);
  exec
    .run(m.argv, { ...m.opts, signal: ac.signal })
    .then(
      (result): BulkReply => ({ id: m.id, ok: true, result }),
      (e: unknown): BulkReply => ({ id: m.id, ok: false, error: toBulkError(e) }),
    )
    .then((r) => {
      running.delete(m.id);
      port.postMessage(r);
    });
});
