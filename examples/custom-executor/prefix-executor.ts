// Example 2: an executor of your own. PrefixExecutor runs each command through a "connection command" given as an
// argv prefix, the way one reaches a node without SSH:
//
//   kubectl debug node/gpu1 -q -i --profile=sysadmin --image=busybox -- chroot /host   (Kubernetes nodes)
//   docker exec -i NODE                                                              (containers)
//   sh -c 'exec "$@"' sh                                                             (this machine: the test)
//
// The prefix and the command stay an argv end to end (no shell text is built), environment variables travel as
// `env NAME=VALUE`, and a timeout or an abort stops the local process group (SIGTERM, then SIGKILL). Everything else
// the installer does (atomic file writes, uploads, services) is built by airgap-k8s on `run`. It proves itself with
// the exported conformance suite: prefix-executor.test.ts.
//
// A remote prefix (kubectl, docker) needs one more thing before it passes the suite against a real node: stopping
// the LOCAL client does not stop the remote command. The built-in ssh and kind executors announce the remote process
// group and kill it there; a kubectl-debug executor would do the same through a second `kubectl debug` run.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { ExecAbortedError, ExecError, type Executor, type RunOptions, type RunResult } from 'airgap-k8s/executors';

export interface PrefixExecutorOptions {
  /** the host's name, used in messages */
  host: string;
  /** the connection command; the host's command follows it as further arguments */
  prefix: readonly string[];
  /** after SIGTERM, how long before SIGKILL (default 2000 ms) */
  killGraceMs?: number;
}

export class PrefixExecutor implements Executor {
  readonly host: string;

  constructor(private readonly o: PrefixExecutorOptions) {
    this.host = o.host;
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0 || argv.some((a) => a.includes('\0'))) return Promise.reject(new TypeError('run: argv must name a command and hold no NUL byte'));
    if (opts.signal?.aborted) return Promise.reject(new ExecAbortedError(this.host, argv, { cause: opts.signal.reason }));
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const [cmd, ...args] = [...this.o.prefix, ...(env.length ? ['env', ...env] : []), ...argv];
    const started = performance.now();

    return new Promise<RunResult>((resolve, reject) => {
      // detached: the command leads a process group of its own, so a stop reaches everything it started
      const child = spawn(cmd!, args, { detached: true, stdio: [opts.stdin !== undefined || opts.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (c: Buffer) => (out.push(c), opts.onStdout?.(c)));
      child.stderr!.on('data', (c: Buffer) => (err.push(c), opts.onStderr?.(c)));
      if (child.stdin) {
        child.stdin.on('error', () => {}); // the command may exit without reading all of it
        if (opts.stdinFile) {
          const file = createReadStream(opts.stdinFile, { start: opts.stdinFileOffset ?? 0 });
          child.stdin.on('close', () => file.destroy()); // ...and then the file is closed, not left open
          file.pipe(child.stdin);
        } else child.stdin.end(opts.stdin);
      }

      let timedOut = false;
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          return; // already gone
        }
        killTimer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }, this.o.killGraceMs ?? 2000);
      };
      const timer = opts.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), stop()), opts.timeoutMs) : undefined;
      const onAbort = () => ((aborted = true), stop());
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      child.on('error', (e: NodeJS.ErrnoException) => {
        // the connection command itself is missing: as a shell says it, exit 127
        if (e.code === 'ENOENT') err.push(Buffer.from(`${cmd}: not found\n`));
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        opts.signal?.removeEventListener('abort', onAbort);
        // the group may still hold processes that left the leader behind: stop them too
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // none left
        }
        if (aborted) return reject(new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason }));
        const result: RunResult = {
          exitCode: child.pid === undefined ? 127 : code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          durationMs: performance.now() - started,
        };
        const ok = result.exitCode === 0 && !timedOut && signal === null;
        if (!ok && !opts.allowFailure) return reject(new ExecError(this.host, argv, result));
        resolve(result);
      });
    });
  }

  async close(): Promise<void> {
    // nothing held open between commands
  }
}
