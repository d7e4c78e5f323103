// Admission control for the expensive start of a job (the spec validated, the cluster's secrets loaded or its CA
// made: ~1.5 ms of CPU for ECDSA-P256, 0.2-1 s for RSA named in the spec; the files rendered and the plan made, all
// in the worker pool): a request reserves a place before any of that and keeps it until the plan is made. At most
// `active` jobs are in that part at once and at most `queued` more wait for it; beyond that a request is refused at
// once with 429 and a Retry-After, so a burst gets quick answers instead of unbounded latency, and the event loop
// stays free for everything else (/healthz).

/** The service is admitting as many installs as it will; try again after `retryAfterSeconds`. */
export class BusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`the service is busy starting other installs; try again in ${retryAfterSeconds} s`);
    this.name = 'BusyError';
  }
}

/** How many jobs may be in their expensive start at once, how many more may wait, and what a refusal says. */
export interface AdmissionLimits {
  active: number;
  queued: number;
  retryAfterSeconds: number;
}

/**
 * A place reserved in the admission control (`Admission`): held from the request until {@link Slot.release}, so the
 * bound covers the whole start (validation, secrets, render, plan). {@link Slot.acquire} waits for an active place.
 */
export interface Slot {
  /** Waits until this job may run its start (one of `active`); rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Gives the place back (and the active one, if acquired). Idempotent. */
  release(): void;
}

export class Admission {
  /** places reserved and not released: the active ones and the waiting ones */
  private held = 0;
  private running = 0;
  private readonly waiting: { go: () => void }[] = [];

  constructor(readonly o: AdmissionLimits) {}

  /** Jobs holding a place now (running their start or waiting for it). */
  get size(): number {
    return this.held;
  }

  /**
   * Reserves a place, or throws BusyError when `active + queued` are held. `force` reserves beyond the bound: jobs
   * that were accepted already (picked up after a restart) are never refused, but they count against new ones.
   */
  reserve(o: { force?: boolean } = {}): Slot {
    if (!o.force && this.held >= this.o.active + this.o.queued) throw new BusyError(this.o.retryAfterSeconds);
    this.held++;
    let state: 'reserved' | 'waiting' | 'running' | 'released' = 'reserved';
    let entry: { go: () => void } | undefined;
    const release = () => {
      if (state === 'released') return;
      if (state === 'waiting' && entry) this.waiting.splice(this.waiting.indexOf(entry), 1);
      if (state === 'running') {
        this.running--;
        this.next();
      }
      state = 'released';
      this.held--;
    };
    return {
      acquire: (signal) => {
        if (state !== 'reserved') return Promise.reject(new Error(`the place is ${state}`));
        if (signal?.aborted) return Promise.reject(signal.reason);
        if (this.running < this.o.active) {
          this.running++;
          state = 'running';
          return Promise.resolve();
        }
        state = 'waiting';
        return new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            this.waiting.splice(this.waiting.indexOf(entry!), 1);
            state = 'reserved';
            reject(signal!.reason);
          };
          entry = {
            go: () => {
              signal?.removeEventListener('abort', onAbort);
              state = 'running';
              resolve();
            },
          };
          this.waiting.push(entry);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      },
      release,
    };
  }

  /** Hands a freed active place to the longest waiting job. */
  private next(): void {
    if (this.running >= this.o.active) return;
    const w = this.waiting.shift();
    if (!w) return;
    this.running++;
    w.go();
  }
}
