// The one place executors are made: a pool per install that makes a host's executor when a step first needs it,
// keeps it (one connection per host) and closes them all at the end. The CLI, the REST service and the rehearsal
// ask for a pool by kind; none of them constructs an executor itself.
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import type { ClusterView, HostView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import { ExecAbortedError, type Executor, type RunOptions, type RunResult } from '../executors/executor.js';
import { DryRunExecutor } from '../executors/dry-run/dry-run.js';
import { LocalExecutor } from '../executors/local/local.js';
import { sshExecutorForHost } from '../executors/ssh/ssh.js';
import { kindExecutorForHost } from '../executors/kind/kind.js';

/**
 * dry-run records commands and touches nothing; ssh reaches the spec's hosts; local runs every host's commands on
 * this machine (single-host specs and tests); kind: each host is a node container on this machine's docker.
 */
export const EXECUTOR_KINDS = ['dry-run', 'ssh', 'local', 'kind'] as const;
/** The built-in ways to reach hosts: dry-run, ssh, local, kind. */
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

/** How {@link executorsFor} makes executors: the SSH known_hosts file, the dry-run delay and test hooks. */
export interface ExecutorSettings {
  /** dry-run: wait this long before every command (so an install takes long enough to interrupt; tests, demos) */
  dryRunDelayMs?: number;
  /** ssh: known_hosts for hosts without a pinned fingerprint (default ~/.ssh/known_hosts) */
  knownHostsFile?: string | undefined;
  /** replace how a host's executor is made (tests that listen for connections or record commands) */
  make?: (kind: ExecutorKind, host: HostView, secrets: Secrets) => Executor;
}

/** The executors of one install, one per host, made on first use and closed together. */
export interface ExecutorPool {
  readonly kind: ExecutorKind;
  /** the host's executor, made on first use */
  get(host: string): Executor;
  /** the executors made so far, by host */
  readonly made: ReadonlyMap<string, Executor>;
  /** close every executor made (errors ignored: the install's outcome is already known) */
  closeAll(): Promise<void>;
}

/** `extraHosts`: hosts not in the view that steps still reach (a host gone from the spec, being removed). */
export function executorsFor(kind: ExecutorKind, view: ClusterView, secrets: Secrets, settings: ExecutorSettings = {}, extraHosts: readonly HostView[] = []): ExecutorPool {
  const made = new Map<string, Executor>();
  const make = settings.make ?? ((k: ExecutorKind, h: HostView) => makeExecutor(k, h, view.name, secrets, settings));
  return {
    kind,
    made,
    get(host) {
      let e = made.get(host);
      if (e) return e;
      const h = view.hosts.find((x) => x.name === host) ?? extraHosts.find((x) => x.name === host);
      if (!h) throw new Error(`no host ${host} in the spec`);
      made.set(host, (e = make(kind, h, secrets)));
      return e;
    },
    async closeAll() {
      await Promise.all([...made.values()].map((e) => e.close().catch(() => undefined)));
    },
  };
}

function makeExecutor(kind: ExecutorKind, host: HostView, cluster: string, secrets: Secrets, s: ExecutorSettings): Executor {
  switch (kind) {
    case 'dry-run':
      // never without a pause: a dry run answers at once, and a whole plan would otherwise run as one stretch of
      // microtasks, holding the event loop (a server's other requests) for its length; a real host's I/O yields
      return new DelayedExecutor(new DryRunExecutor({ host: host.name }), s.dryRunDelayMs ?? 0);
    case 'local':
      return new LocalExecutor({ host: host.name });
    case 'kind':
      return kindExecutorForHost(host, { cluster });
    case 'ssh':
      return sshExecutorForHost(host, secrets, { knownHostsFile: s.knownHostsFile });
  }
}

/**
 * Waits `delayMs` (abortable) before each command of the wrapped executor; with 0, one turn of the event loop (what
 * a command's I/O would give other work).
 */
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
    try {
      if (this.delayMs > 0) await sleep(this.delayMs, undefined, { signal: opts.signal });
      else await turn(undefined, { signal: opts.signal });
    } catch {
      throw new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason });
    }
    return this.inner.run(argv, opts);
  }
  close() {
    return this.inner.close();
  }
}
