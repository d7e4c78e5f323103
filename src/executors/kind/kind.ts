// The kind executor: each spec host is a node container (kind-in-docker, or any container on a docker network) and
// commands run inside it through the Docker Engine's exec API — never by spawning the docker CLI. The client is
// testcontainers' (`getContainerRuntimeClient()`, dockerode underneath), made once per process on first use.
//
// Finding a host's container:
// - `container: '<id or name>'`: that container.
// - `container: {host, cluster?, address?}` (what kindExecutorForHost builds from the spec): the container labelled
//     airgap-k8s.node.host=<spec host name>      (required)
//     airgap-k8s.node.cluster=<metadata.name>    (matched when the caller knows the cluster: the CLI does; the REST
//                                                 service's executor factory is given only the host)
//   and, when it has an address, holding the spec's address on one of its networks (rendered files use that address,
//   so a node with another one is the wrong machine). Stopped containers count (they say "start me", not "missing").
//   Zero or several matches are errors that name what was found. The match is cached per executor; a container that
//   disappears is looked up again on the next command.
//
// Design notes (measured with Docker Engine 20.10 / runc 1.1 on the test-bed image):
// - argv is never shell text: each command runs as `sh -c '<wrapper>' airgap-k8s ARGV...` where the constant wrapper
//   prints its process id on stderr behind a marker (stripped before the caller sees stderr) and then `exec "$@"`s the
//   argv, so the command keeps that process id. Environment variables travel in the exec's Env (no `env` command).
// - Stopping a command (timeout, AbortSignal): runc makes every exec process a session and process-group leader
//   (setsid), so the announced id is the command's process group. A stop runs a SECOND exec in the same container,
//   `kill -s TERM -- -<pgid>` (dash refuses `kill -TERM -- -<pgid>`), waits up to killGraceMs for the group to empty,
//   then `kill -s KILL`; the whole tree goes, not just the process docker started. (Should a runtime not make the
//   group, the script falls back to the pid.) Docker's exec API has no kill of its own, and dropping our end of the
//   attach stream leaves the process running. The marker filter and the kill script follow ../ssh/ssh.ts.
// - Output: the attach stream is docker's multiplexed stream (8-byte frame headers) on a hijacked connection,
//   demultiplexed here into stdout/stderr as it arrives. Collected in full (no cap), streamed to the callbacks.
// - stdin (string/Buffer, or stdinFile streamed from disk without holding it in memory) goes up the same hijacked
//   connection, then a half-close (shutdown SHUT_WR) is the command's EOF. A stdinFile read error stops the command
//   without sending EOF, so it never takes a short input for a whole one. When the command exits without reading
//   all of it, the daemon ends the stream and the unsent rest is dropped (as the docker CLI does). Without stdin the
//   command's stdin is /dev/null (the exec is created without AttachStdin).
// - Exit status: docker reports only an exit code; a signal shows as 128+n. When we stopped the command, 143/137
//   are reported as SIGTERM/SIGKILL (exitCode null), as the local and ssh executors do.
// - Errors: a container that is gone (404) or not running (stopped, paused: 409) fails with ExecConnectionError;
//   "not running" is retryable (docker start brings it back), "gone" only when the container is found by labels (a
//   re-created node is found again). A command that ends by a signal (128+n) we did not send is checked against its
//   container: stopped, removed, or signalled/stopped by docker since the command started (its event log; a systemd
//   node ends every process first and stops seconds later) makes it ExecConnectionError too, as a daemon that
//   cannot be reached does (retryable).
// - testcontainers: Ryuk, its reaper container, is disabled (TESTCONTAINERS_RYUK_DISABLED=true; its image cannot be
//   pulled here), and the executor never creates a container or pulls an image: it only execs into existing ones.
//   We clean up ourselves: every command we start is waited for or killed with its process group, and the node
//   containers belong to whoever made them (the test bed removes its own). TESTCONTAINERS_HOST_OVERRIDE defaults to
//   localhost: inside a container testcontainers otherwise resolves the docker host by RUNNING alpine:3.14 (a pull)
//   when the default bridge network has no gateway; this executor never uses that host (no port mappings).
import type { Duplex } from 'node:stream';
// type-only, and only in private members: the published kind.d.ts does not name dockerode
import type Dockerode from 'dockerode';
import type { HostView } from '../../spec/derive.js';
import { checkRun, Collector, sendStdinFile, settle, watchStop } from '../common.js';
import { MissingDependencyError } from '../../optional.js';
import { dockerClient } from './docker.js';
import { ExecAbortedError, ExecConnectionError, type Executor, type RunOptions, type RunResult } from '../executor.js';
import { KILL_SCRIPT, PID_ANNOUNCE, PidFilter } from '../process-group.js';

/** The docker label naming the spec's host a node container stands for. */
export const NODE_HOST_LABEL = 'airgap-k8s.node.host';
/** The docker label naming the cluster a node container belongs to. */
export const NODE_CLUSTER_LABEL = 'airgap-k8s.node.cluster';

/** How to find a node container by the labels above. */
export interface NodeSelector {
  /** the spec's host name (label airgap-k8s.node.host) */
  host: string;
  /** the spec's metadata.name (label airgap-k8s.node.cluster); omitted: any cluster */
  cluster?: string | undefined;
  /** the spec's address for the host: a running match must hold it on one of its networks */
  address?: string | undefined;
}

/** How a {@link KindExecutor} finds its node container and runs commands there. */
export interface KindExecutorOptions {
  /** host name (from the spec) used in messages */
  host: string;
  /** the container: its id or name, or the labels it carries */
  container: string | NodeSelector;
  /** user inside the container (docker exec --user); default: the container's (root for node images) */
  user?: string;
  /** after SIGTERM to a stopped command's group, how long before SIGKILL; default 2000 */
  killGraceMs?: number;
}

/** The executor for a spec host: its node container found by labels (see the file header). */
export function kindExecutorForHost(host: HostView, opts: { cluster?: string | undefined; killGraceMs?: number } = {}): KindExecutor {
  return new KindExecutor({
    host: host.name,
    container: { host: host.name, cluster: opts.cluster, address: host.address },
    ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
  });
}

const WRAPPER = `${PID_ANNOUNCE} exec "$@"`;

/** Docker's multiplexed attach stream: frames of [stream, 0, 0, 0, size (uint32 BE)] + payload. */
class Demux {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly sink: (stream: number, payload: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let o = 0;
    while (this.buf.length - o >= 8) {
      const size = this.buf.readUInt32BE(o + 4);
      if (this.buf.length - o - 8 < size) break;
      if (size > 0) this.sink(this.buf[o]!, this.buf.subarray(o + 8, o + 8 + size));
      o += 8 + size;
    }
    this.buf = o === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(o);
  }
}

type DockerError = Error & { statusCode?: number; code?: string; json?: { message?: string } | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIGNAL_EXIT: Record<number, string> = { 143: 'SIGTERM', 137: 'SIGKILL' };

/**
 * Runs commands inside a node container with `docker exec` over the Docker Engine API (kind's way): hosts that are
 * containers, as in the dress rehearsal and CI. Needs the optional dependency testcontainers.
 */
export class KindExecutor implements Executor {
  readonly host: string;
  private readonly ref: string | NodeSelector;
  private readonly user: string | undefined;
  private readonly killGraceMs: number;
  /** the selector's match, once found */
  private found: string | undefined;

  constructor(opts: KindExecutorOptions) {
    if (typeof opts.container === 'string' ? opts.container === '' : !opts.container.host) {
      throw new TypeError(`${opts.host}: kind executor needs a container id or name, or a node selector with a host`);
    }
    this.host = opts.host;
    this.ref = opts.container;
    this.user = opts.user;
    this.killGraceMs = opts.killGraceMs ?? 2000;
  }

  /** the container this executor reaches, for messages */
  get target(): string {
    if (typeof this.ref === 'string') return `container ${this.ref}`;
    const labels = [`${NODE_HOST_LABEL}=${this.ref.host}`, ...(this.ref.cluster ? [`${NODE_CLUSTER_LABEL}=${this.ref.cluster}`] : [])];
    return `the container labelled ${labels.join(', ')}${this.found ? ` (${this.found.slice(0, 12)})` : ''}`;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkRun(argv, opts);
    if (opts.signal?.aborted) throw new ExecAbortedError(this.host, argv, { cause: opts.signal.reason });
    return settle(this.host, argv, await this.exec(argv, opts), opts);
  }

  /** Nothing to release: every command is its own exec on the shared docker client. */
  async close(): Promise<void> {}

  // ---- finding the container ----

  private connectionError(argv: readonly string[] | undefined, detail: string, retryable: boolean, cause?: unknown): ExecConnectionError {
    return new ExecConnectionError(this.host, argv, detail, retryable, cause === undefined ? undefined : { cause });
  }

  /** A docker API failure as the error the caller sees. */
  private apiError(argv: readonly string[], e: unknown, what: string): Error {
    if (e instanceof ExecConnectionError) return e;
    const err = e as DockerError;
    const why = (err.json?.message ?? err.message ?? String(e)).trim();
    if (err.statusCode === 404) {
      this.found = undefined;
      return this.connectionError(argv, `${this.target} is gone (${why})`, typeof this.ref !== 'string', e);
    }
    if (err.statusCode === 409 || (err.statusCode === 500 && /not running|is paused|is restarting/i.test(why))) {
      return this.connectionError(argv, `${this.target} is stopped or paused (docker: ${why})`, true, e);
    }
    if (err.statusCode === undefined) return this.connectionError(argv, `cannot reach the docker daemon to ${what}: ${why}`, true, e);
    return this.connectionError(argv, `docker could not ${what} in ${this.target}: ${why}`, err.statusCode >= 500, e);
  }

  private async docker(argv: readonly string[]): Promise<Dockerode> {
    try {
      return await dockerClient();
    } catch (e) {
      // a missing testcontainers is not a daemon that may come back: not retryable, the message names the package
      if (e instanceof MissingDependencyError) throw this.connectionError(argv, e.message, false, e);
      throw this.connectionError(argv, `no docker daemon answers (testcontainers: ${(e as Error).message})`, true, e);
    }
  }

  private async containerId(docker: Dockerode, argv: readonly string[]): Promise<string> {
    if (typeof this.ref === 'string') return this.ref;
    if (this.found) return this.found;
    const sel = this.ref;
    const filters = { label: [`${NODE_HOST_LABEL}=${sel.host}`, ...(sel.cluster ? [`${NODE_CLUSTER_LABEL}=${sel.cluster}`] : [])] };
    let list: Dockerode.ContainerInfo[];
    try {
      list = await docker.listContainers({ all: true, filters });
    } catch (e) {
      throw this.apiError(argv, e, 'list containers');
    }
    const addresses = (c: Dockerode.ContainerInfo) =>
      Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) => [n.IPAddress, n.IPAMConfig?.IPv4Address].filter((a): a is string => !!a));
    const describe = (c: Dockerode.ContainerInfo) => {
      const held = [...new Set(addresses(c))];
      return `${(c.Names[0] ?? c.Id).replace(/^\//, '')} (${c.State}${held.length ? `, ${held.join(' ')}` : ''})`;
    };
    // with an address: a container holding it, or one that holds none now (stopped, or a dynamic address)
    const matches = sel.address ? list.filter((c) => addresses(c).length === 0 || addresses(c).includes(sel.address!)) : list;
    if (matches.length === 1) return (this.found = matches[0]!.Id);
    if (list.length === 0) throw this.connectionError(argv, `no node container: nothing is labelled ${filters.label.join(', ')}`, false);
    if (matches.length === 0) {
      const found = list.map(describe).join('; ');
      throw this.connectionError(argv, `no node container with the spec's address ${sel.address}: labelled ${filters.label.join(', ')} are ${found}`, false);
    }
    throw this.connectionError(argv, `several node containers match ${filters.label.join(', ')}: ${matches.map(describe).join('; ')}`, false);
  }

  // ---- one command ----

  private exec(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const start = performance.now();
      const stdout = new Collector(opts.onStdout);
      const errOut = new Collector(opts.onStderr);
      const stderr = new PidFilter(errOut);
      const hasStdin = opts.stdin !== undefined || opts.stdinFile !== undefined;
      // preparing: nothing runs in the container yet; started: the exec was started (the command may run)
      let phase: 'preparing' | 'started' = 'preparing';
      let docker: Dockerode | undefined;
      let container: Dockerode.Container | undefined;
      let sock: Duplex | undefined;
      /** wall clock (ms) when the exec was started, for the container's event log */
      let startedAt = 0;
      let timedOut = false;
      let aborted = false;
      let stopping = false;
      let done = false;
      let stdinFailure: Error | undefined;
      const timers: NodeJS.Timeout[] = [];
      let disarm = () => {};

      const finish = (outcome: { error: Error } | { exitCode: number | null } | null) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        disarm();
        if (outcome && 'error' in outcome) return reject(outcome.error);
        if (aborted) return reject(new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason }));
        if (stdinFailure) return reject(stdinFailure);
        stderr.flush();
        let exitCode = outcome?.exitCode ?? null;
        let signal: string | null = null;
        if (stopping && exitCode !== null && SIGNAL_EXIT[exitCode]) {
          signal = SIGNAL_EXIT[exitCode]!;
          exitCode = null;
        }
        resolve({ exitCode, signal, stdout: stdout.text(), stderr: errOut.text(), timedOut, durationMs: performance.now() - start });
      };

      const kill = (pgid: number) => {
        if (container) void this.kill(container, pgid);
      };
      const stop = () => {
        if (stopping || done) return;
        stopping = true;
        if (phase === 'preparing') return finish(null); // nothing started
        if (stderr.pid !== undefined) kill(stderr.pid);
        else stderr.onPid = kill;
        // Bounded even when the kill cannot be delivered: stop waiting and drop the attach stream.
        timers.push(
          setTimeout(() => {
            sock?.destroy();
            finish(null);
          }, this.killGraceMs + 3000),
        );
      };

      /** The attach stream ended: the command exited, was killed, or its container or the daemon went away. */
      const ended = async (docker: Dockerode, exec: Dockerode.Exec) => {
        if (done) return;
        let info: Dockerode.ExecInspectInfo | undefined;
        let failure: unknown;
        // The stream can end a moment before docker records the exit code.
        for (let i = 0; i < 100; i++) {
          try {
            info = await exec.inspect();
          } catch (e) {
            failure = e;
            break;
          }
          if (!info.Running) break;
          await sleep(20);
        }
        if (done) return;
        const code = info && !info.Running ? info.ExitCode : null;
        if (stopping) return finish({ exitCode: code });
        // Killed from outside (128+n), or no exit code at all: did its container stop (or start stopping) under it?
        if (failure !== undefined || code === null || code >= 128) {
          let trouble: { what: string; removed: boolean } | undefined;
          try {
            trouble = await this.containerTrouble(docker, container!, startedAt);
          } catch (e) {
            failure ??= e;
          }
          if (done) return;
          if (trouble) {
            if (trouble.removed) this.found = undefined;
            const detail = `${this.target} ${trouble.what} after ${Math.round(performance.now() - start)} ms while the command ran`;
            return finish({ error: this.connectionError(argv, detail, !trouble.removed || typeof this.ref !== 'string') });
          }
          if (failure !== undefined) {
            return finish({ error: this.connectionError(argv, `lost the docker daemon while the command ran: ${(failure as Error).message}`, true, failure) });
          }
        }
        finish({ exitCode: code });
      };

      const begin = async () => {
        docker = await this.docker(argv);
        if (done) return;
        const id = await this.containerId(docker, argv);
        if (done) return;
        container = docker.getContainer(id);
        let exec: Dockerode.Exec;
        try {
          exec = await container.exec({
            Cmd: ['sh', '-c', WRAPPER, 'airgap-k8s', ...argv],
            Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
            AttachStdin: hasStdin,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
            ...(this.user !== undefined ? { User: this.user } : {}),
          });
        } catch (e) {
          throw this.apiError(argv, e, 'create an exec');
        }
        if (done) return; // stopped meanwhile: the exec was never started, nothing runs
        phase = 'started';
        startedAt = Date.now();
        let s: Duplex;
        try {
          s = await exec.start({ hijack: true, stdin: hasStdin, Detach: false, Tty: false });
        } catch (e) {
          throw this.apiError(argv, e, 'start the command');
        }
        sock = s;
        if (done) return this.reapLate(container, s);
        const demux = new Demux((stream, payload) => (stream === 1 ? stdout.push(payload) : stderr.push(payload)));
        s.on('data', (b: Buffer) => demux.push(b));
        // EPIPE when the command exits without reading all of its input: not our error, its exit code tells.
        s.on('error', () => {});
        // The daemon ends its side once the command exited and its output is sent. Stdin it no longer reads may still
        // be queued on our side (a socket ends only after flushing it): drop it, as the docker CLI does.
        s.on('end', () => s.destroy());
        s.on('close', () => void ended(docker!, exec));
        if (!hasStdin) return;
        if (opts.stdinFile !== undefined) {
          sendStdinFile(opts, s, (e) => {
            // Never send EOF after a failed read: kill the command before it takes a short input for a whole one.
            stdinFailure = new Error(`${this.host}: could not read stdinFile ${opts.stdinFile}: ${e.message}; the command was stopped before its input ended`, { cause: e });
            stop();
          });
        } else {
          s.end(opts.stdin);
        }
      };

      disarm = watchStop(opts, {
        timeout: () => {
          timedOut = true;
          stop();
        },
        abort: () => {
          aborted = true;
          stop();
        },
      });
      begin().catch((e: unknown) => finish({ error: e instanceof Error ? e : new Error(String(e)) }));
    });
  }

  /**
   * What happened to the container since `sinceMs`: removed, not running (exited, paused, ...), or signalled, stopped
   * or restarted by docker meanwhile (a systemd node takes seconds to shut down after `docker stop`, and ends the
   * command first); undefined when nothing did.
   */
  private async containerTrouble(docker: Dockerode, container: Dockerode.Container, sinceMs: number): Promise<{ what: string; removed: boolean } | undefined> {
    let c: Dockerode.ContainerInspectInfo;
    try {
      c = await container.inspect();
    } catch (e) {
      if ((e as DockerError).statusCode === 404) return { what: 'was removed', removed: true };
      throw e;
    }
    if (c.State.Paused) return { what: 'was paused', removed: false };
    if (!c.State.Running) return { what: `stopped (${c.State.Status || 'not running'})`, removed: false };
    // `until` now: the daemon answers with the events so far and ends the stream (since: 1 s back for clock rounding).
    const events = await docker.getEvents({
      since: sinceMs / 1000 - 1,
      until: Date.now() / 1000,
      filters: { container: [c.Id], event: ['kill', 'stop', 'die', 'restart'] },
    });
    let text = '';
    for await (const chunk of events) text += chunk.toString();
    const last = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action?: string; Actor?: { Attributes?: Record<string, string> } }).at(-1);
    if (!last) return undefined;
    const signal = last.Actor?.Attributes?.signal;
    return { what: `is being stopped (docker event ${last.Action ?? '?'}${signal ? `, signal ${signal}` : ''})`, removed: false };
  }

  /** Kill a process group in the container (TERM, then KILL after killGraceMs) through a second exec. */
  private async kill(container: Dockerode.Container, pgid: number): Promise<void> {
    try {
      const exec = await container.exec({
        Cmd: ['sh', '-c', KILL_SCRIPT, 'airgap-kill', String(Math.ceil(this.killGraceMs / 100)), String(pgid)],
        AttachStdout: true,
        AttachStderr: true,
        ...(this.user !== undefined ? { User: this.user } : {}),
      });
      const s = await exec.start({ hijack: true, stdin: false, Detach: false, Tty: false });
      s.resume();
      s.on('error', () => {});
      s.on('end', () => s.destroy());
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, this.killGraceMs + 5000);
        s.on('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    } catch {
      // the run's own bound still ends it; nothing more to do here
    }
  }

  /** A command whose run already ended (stopped while the exec started): kill it once it names its group. */
  private reapLate(container: Dockerode.Container, s: Duplex): void {
    const filter = new PidFilter(new Collector());
    filter.onPid = (pid) => void this.kill(container, pid);
    const demux = new Demux((stream, payload) => stream === 2 && filter.push(payload));
    s.on('data', (b: Buffer) => demux.push(b));
    s.on('error', () => {});
    s.on('end', () => s.destroy());
    s.end();
    const t = setTimeout(() => s.destroy(), this.killGraceMs + 3000);
    s.on('close', () => clearTimeout(t));
  }
}
