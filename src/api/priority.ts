// Scheduling priority of the worker pool's threads (./pool.ts): a background thread, one that renders and plans (the
// loop's pool's, and the job thread's own, ./job-thread.ts), runs at nice 10. On a machine with few cores a job's start computing beside the event loop took its CPU whenever both
// wanted it, and the requests the loop was answering meanwhile waited (issue 13: one POST at a time, p99 34-67 ms
// against a p50 of 12-16 ms, the slow ones exactly while starts were queued). At nice 10, CFS gives such a thread
// about a tenth of a core's share while the loop or the quick thread wants the core, and all of it otherwise.
import { readlinkSync } from 'node:fs';
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
