// Admission control for the expensive start of an install (a new cluster's CA is made by openssl, ~0.65 s of CPU):
// at most `active` at once, at most `queued` waiting; beyond that the request is refused at once with 429 and a
// Retry-After, so a burst gets quick answers instead of unbounded latency, and the service stays responsive.

/** The service is admitting as many installs as it will; try again after `retryAfterSeconds`. */
export class BusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`the service is busy starting other installs; try again in ${retryAfterSeconds} s`);
    this.name = 'BusyError';
  }
}

export class Admission {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly o: { active: number; queued: number; retryAfterSeconds: number }) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.o.active) {
      if (this.waiting.length >= this.o.queued) throw new BusyError(this.o.retryAfterSeconds);
      await new Promise<void>((r) => this.waiting.push(r));
    }
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
