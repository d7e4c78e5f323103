// Large uploads over SSH in a thread of their own (issue 13). A command whose stdin is a local file of BULK_MIN_BYTES
// or more (a bundle's package archives, images, models) runs on a connection that a worker thread of this process
// opens to the same host with the same options (./bulk-thread.ts), and the file streams there.
//
// Why: ssh2 moves the bytes in JavaScript (framing, buffers; AES-GCM itself is OpenSSL's), and the same transfer
// costs this process about twice the CPU once the rest of the library is loaded and used in the same isolate.
// Measured on the test bed, 256 MiB to one host, CPU of this process: 0.52-0.68 s in a fresh process, 0.82-0.99 s after
// importing zod alone, 1.1-1.5 s after a render and plan, 1.7-2.5 s inside `npm run bench` (scp: 0.9-1.0 s). A worker
// thread has an isolate of its own that loads the SSH executor only: 0.58-0.73 s there while the main thread had
// rendered and planned, 1.03-1.15 s on the main thread in the same process.
//
// Everything a caller sees is the same as on the main connection: the result, ExecError (exit code, output),
// ExecConnectionError (retryable or not: a dropped connection is retried by the caller, and the thread's next command
// connects again), ExecAbortedError (the caller's signal, passed on as a message), timeouts. One thread for the
// process, started on first use; it holds the process open only while a transfer runs, and one that dies fails its
// transfers as dropped connections (retryable) and is replaced by the next.
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../../threads.js';
import { ExecAbortedError, ExecConnectionError, ExecError, type RunOptions, type RunResult } from '../executor.js';

/** Files at least this large are streamed from the bulk thread (smaller ones are not worth a second connection). */
export const BULK_MIN_BYTES = 8 * 1024 * 1024;

/** The options that cross to the thread: everything but the signal and the output callbacks. */
export type BulkRunOptions = Omit<RunOptions, 'signal' | 'onStdout' | 'onStderr'>;

/** To the thread. */
export type BulkRequest =
  /** options: the SshExecutorOptions of the executor on the main thread (./ssh.ts; plain data) */
  | { kind: 'run'; id: number; key: string; options: { host: string }; argv: string[]; opts: BulkRunOptions }
  | { kind: 'abort'; id: number }
  | { kind: 'close'; key: string };

/** An error as it crosses back, rebuilt as its class here. */
export type BulkError =
  | { name: 'ExecError'; host: string; argv: string[]; result: RunResult }
  | { name: 'ExecConnectionError'; host: string; argv: string[] | undefined; detail: string; retryable: boolean }
  | { name: 'AbortError'; host: string; argv: string[] }
  | { name: string; message: string };

/** From the thread. */
export type BulkReply = { id: number; ok: true; result: RunResult } | { id: number; ok: false; error: BulkError };

export function toBulkError(e: unknown): BulkError {
  if (e instanceof ExecError) return { name: 'ExecError', host: e.host, argv: [...e.argv], result: e.result };
  if (e instanceof ExecConnectionError) return { name: 'ExecConnectionError', host: e.host, argv: e.argv ? [...e.argv] : undefined, detail: e.detail, retryable: e.retryable };
  if (e instanceof ExecAbortedError) return { name: 'AbortError', host: e.host, argv: [...e.argv] };
  return { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) };
}

function fromBulkError(b: BulkError): Error {
  if ('result' in b) return new ExecError(b.host, b.argv, b.result);
  if ('retryable' in b) return new ExecConnectionError(b.host, b.argv, b.detail, b.retryable);
  if ('argv' in b) return new ExecAbortedError(b.host, b.argv);
  const e = new Error(b.message);
  e.name = b.name;
  return e;
}

interface Pending {
  resolve(r: RunResult): void;
  reject(e: Error): void;
  host: string;
  argv: string[];
}

/** The process's bulk thread: runs commands with a large stdinFile on connections of its own. */
class BulkThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  run(key: string, options: { host: string }, argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    const { signal, onStdout: _o, onStderr: _e, ...rest } = opts;
    const w = this.thread();
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      const onAbort = () => w.postMessage({ kind: 'abort', id } satisfies BulkRequest);
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0) w.unref();
      };
      this.pending.set(id, {
        host: options.host,
        argv: [...argv],
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      w.ref(); // a transfer runs: the process waits for it
      w.postMessage({ kind: 'run', id, key, options, argv: [...argv], opts: rest } satisfies BulkRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Closes the thread's connection of executor `key` (no-op when it has none or there is no thread). */
  close(key: string): void {
    this.worker?.postMessage({ kind: 'close', key } satisfies BulkRequest);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = startModuleThread(import.meta.url, 'bulk-thread');
    w.on('message', (r: BulkReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      if (r.ok) p.resolve(r.result);
      else p.reject(fromBulkError(r.error));
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const p of [...this.pending.values()]) p.reject(new ExecConnectionError(p.host, p.argv, `the SSH transfer thread ended: ${why}`, true));
    };
    w.on('error', (e) => lost(e.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    w.unref();
    this.worker = w;
    return w;
  }
}

let shared: BulkThread | undefined;

/** The process's bulk thread (started on first use). */
export function bulkThread(): BulkThread {
  return (shared ??= new BulkThread());
}
