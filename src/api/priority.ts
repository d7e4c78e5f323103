// Scheduling priority of the worker pool's threads (./pool.ts): a background thread, one that renders and plans (the
// loop's pool's, and the job thread's own, ./job-thread.ts), runs at nice 10. On a machine with few cores a job's start computing beside the event loop took its CPU whenever both
// wanted it, and the requests the loop was answering meanwhile waited (issue 13: one POST at a time, p99 34-67 ms
// against a p50 of 12-16 ms, the slow ones exactly while starts were queued). At nice 10, CFS gives such a thread
// about a tenth of a core's share while the loop or the quick thread wants the core, and all of it otherwise.
// `airgap-k8s serve` lowers the process's helper threads the same way before it starts any thread of its own
// (lowerOtherThreads): V8 marks every thread's heap on them, so a render thread's garbage was collected at normal
// priority beside the loop.
import { readdirSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value of the pool's background threads. */
export const BACKGROUND_NICE = 10;

/** This thread's Linux thread id (the last part of /proc/thread-self), or undefined elsewhere. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling thread's priority to {@link BACKGROUND_NICE}: setpriority(2) on a thread id changes that thread
 * only (Linux). Returns false where it cannot (no thread id, or not allowed); the thread then runs as it was.
 */
export function lowerThreadPriority(): boolean {
  const tid = threadId();
  if (tid === undefined) return false;
  try {
    setPriority(tid, BACKGROUND_NICE);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lowers every other thread the process has now to {@link BACKGROUND_NICE}, for `airgap-k8s serve` before it starts
 * threads of its own (a thread inherits its creator's priority, so the job and render threads start from the
 * caller's). Those threads are V8's platform threads, which mark the heaps of every thread concurrently
 * (the render threads' too), and libuv's pool (file reads and hashes; the loop's request path uses none). At normal
 * priority the platform threads took about 12 ms of CPU per new install (2.5 s of 205 one-at-a-time
 * `POST /clusters?dryRun=true`, more than the loop's 6 ms) and competed with the loop as equals while the render
 * threads' own share was a tenth. Returns how many threads it lowered (0 where there is no /proc or it is not allowed).
 */
export function lowerOtherThreads(): number {
  const self = threadId();
  if (self === undefined) return 0;
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const t of tasks) {
    const tid = Number(t);
    if (tid === self || !Number.isInteger(tid)) continue;
    try {
      setPriority(tid, BACKGROUND_NICE);
      lowered++;
    } catch {
      // gone since the listing, or not allowed: it keeps its priority
    }
  }
  return lowered;
}
