// Which executor an install runs with. Over HTTP only `dry-run` (records commands, touches nothing), `ssh` (the
// spec's hosts) and `kind` (the hosts' node containers on this machine's docker, found by their labels) are offered:
// `local` would run root commands on the API server's own machine.
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import { DryRunExecutor } from '../executors/dry-run/dry-run.js';
import type { Executor, RunOptions, RunResult } from '../executors/executor.js';
import { ExecAbortedError } from '../executors/executor.js';
import { sshExecutorForHost } from '../executors/ssh/ssh.js';
import { kindExecutorForHost } from '../executors/kind/kind.js';
import type { ExecutorKind } from './store.js';

export interface ExecutorSettings {
  /** dry-run: wait this long before every command (so an install takes long enough to interrupt; tests, demos) */
  dryRunDelayMs: number;
  /** ssh: known_hosts for hosts without a pinned fingerprint (default ~/.ssh/known_hosts) */
  knownHostsFile?: string;
}

/** Waits `delayMs` (abortable) before each command of the wrapped executor. */
export class DelayedExecutor implements Executor {
  constructor(
    readonly inner: Executor,
    readonly delayMs: number,
  ) {}
  get host() {
    return this.inner.host;
  }
  get fileRoot() {
    return this.inner.fileRoot;
  }
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (this.delayMs > 0) {
      try {
        await sleep(this.delayMs, undefined, { signal: opts.signal });
      } catch {
        throw new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason });
      }
    }
    return this.inner.run(argv, opts);
  }
  close() {
    return this.inner.close();
  }
}

export function makeExecutor(kind: ExecutorKind, host: HostView, secrets: Secrets, s: ExecutorSettings): Executor {
  if (kind === 'dry-run') {
    const e = new DryRunExecutor({ host: host.name });
    return s.dryRunDelayMs > 0 ? new DelayedExecutor(e, s.dryRunDelayMs) : e;
  }
  // by host name and address: this factory is not told the cluster's name
  if (kind === 'kind') return kindExecutorForHost(host);
  return sshExecutorForHost(host, secrets, { knownHostsFile: s.knownHostsFile });
}
