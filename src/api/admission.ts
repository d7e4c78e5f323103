// Admission control for the costly part of starting an install, a new cluster's CA (~1.5 ms of CPU for the default
// ECDSA-P256, but 0.2-0.5 s for an RSA-2048 CA named in the spec and about a second for RSA-4096): at most `active`
// at once, at most `queued` waiting; beyond that the request is refused at once with 429 and a Retry-After, so a
// burst gets quick answers instead of unbounded latency, and the service stays responsive.

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
