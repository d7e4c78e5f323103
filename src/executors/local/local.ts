// The local executor: commands on this machine, spawned directly (no shell, so argv arrives verbatim).
//
// Every command runs as the leader of its own process group (spawn `detached` = setsid), so a timeout or an abort
// signals the whole tree it started: SIGTERM to the group, then SIGKILL to the group after `killGraceMs`. Output is
// collected in full (no cap) while being streamed to the callbacks; both pipes are drained concurrently, so a command
// that fills stderr while we wait on stdout cannot deadlock.
//
// `root` (tests): the file helpers in ../ops.ts write, read and hash under this directory instead of `/`.
// Commands are NOT re-rooted — there is no honest way to make `systemctl restart haproxy` or `dpkg -i` act on a
// directory tree without a real chroot/container, which is what the kind/ssh executors are for.
import { spawn } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { checkRun, Collector, sendStdinFile, settle, watchStop } from '../common.js';
import { ExecAbortedError, type Executor, type RunOptions, type RunResult } from '../executor.js';

/** How a {@link LocalExecutor} names itself and where its file operations resolve. */
export interface LocalExecutorOptions {
  /** name used in errors and events; default 'localhost' */
  host?: string;
  /** directory under which ../ops.ts file helpers resolve absolute paths (tests) */
  root?: string;
  /** after SIGTERM, how long the group gets before SIGKILL; default 2000 ms */
  killGraceMs?: number;
}

/**
 * Runs commands on this machine as child processes, each in its own process group so a timeout or abort stops all it
 * started.
 */
export class LocalExecutor implements Executor {
  readonly host: string;
  readonly fileRoot: string | undefined;
  private readonly killGraceMs: number;

  constructor(opts: LocalExecutorOptions = {}) {
    this.host = opts.host ?? 'localhost';
    if (opts.root !== undefined && !isAbsolute(opts.root)) throw new TypeError(`local executor root must be absolute: ${opts.root}`);
    this.fileRoot = opts.root;
    this.killGraceMs = opts.killGraceMs ?? 2000;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkRun(argv, opts);
    if (opts.signal?.aborted) throw new ExecAbortedError(this.host, argv, { cause: opts.signal.reason });
    const result = await this.spawn(argv, opts);
    if (result.aborted) throw new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason });
    if (result.stdinError) {
      throw new Error(`${this.host}: could not read stdinFile ${opts.stdinFile}: ${result.stdinError.message}; the command was killed before its input ended`, { cause: result.stdinError });
    }
    return settle(this.host, argv, result.result, opts);
  }

  private spawn(argv: readonly string[], opts: RunOptions): Promise<{ result: RunResult; aborted: boolean; stdinError?: Error }> {
    return new Promise((resolve) => {
      const start = performance.now();
      const hasStdin = opts.stdin !== undefined || opts.stdinFile !== undefined;
      const child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        stdio: [hasStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
      });
      const stdout = new Collector(opts.onStdout);
      const stderr = new Collector(opts.onStderr);
      let timedOut = false;
      let aborted = false;
      let stopping = false;
      let stdinError: Error | undefined;
      let spawnError: NodeJS.ErrnoException | undefined;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const timers: NodeJS.Timeout[] = [];
      let disarm = () => {};
      let done = false;

      const killGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // ESRCH: the group is already gone
        }
      };
      const stop = () => {
        if (stopping) return;
        stopping = true;
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), this.killGraceMs));
        // A process that escaped the group (its own setsid) may hold our pipes open forever: stop waiting for them.
        timers.push(
          setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            finish();
          }, this.killGraceMs + 2000),
        );
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };

      const finish = () => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        disarm();
        // Stragglers of a stopped command (a child that ignored SIGTERM and closed its output) die with it.
        if (stopping) killGroup('SIGKILL');
        if (spawnError) {
          const code = spawnError.code === 'ENOENT' ? 127 : spawnError.code === 'EACCES' ? 126 : 1;
          resolve({
            aborted,
            result: { exitCode: code, signal: null, stdout: '', stderr: `${argv[0]}: ${spawnError.message}\n`, timedOut: false, durationMs: performance.now() - start },
          });
          return;
        }
        const out = {
          aborted,
          result: {
            exitCode: exit?.code ?? null,
            signal: exit?.signal ?? null,
            stdout: stdout.text(),
            stderr: stderr.text(),
            timedOut,
            durationMs: performance.now() - start,
          },
        };
        resolve(stdinError ? { ...out, stdinError } : out);
      };

      child.on('error', (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) {
          spawnError = err;
          finish();
        }
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
      });
      child.on('close', (code, signal) => {
        exit ??= { code, signal };
        finish();
      });
      child.stdout!.on('data', (c: Buffer) => stdout.push(c));
      child.stderr!.on('data', (c: Buffer) => stderr.push(c));

      if (child.stdin) {
        // EPIPE when the command exits without reading all of its input: not our error, its exit code tells.
        child.stdin.on('error', () => {});
        if (opts.stdinFile !== undefined) {
          sendStdinFile(opts, child.stdin, (err) => {
            // Never close stdin after a failed read: the command would take a short input for a complete one.
            stdinError = err;
            stop();
          });
        } else {
          child.stdin.end(opts.stdin);
        }
      }

      disarm = watchStop(opts, {
        timeout: () => {
          timedOut = true;
          stop();
        },
        abort: onAbort,
      });
    });
  }

  async close(): Promise<void> {}
}
