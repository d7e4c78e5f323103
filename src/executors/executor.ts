// The one interface every executor implements: run a command (argv, never a shell string unless the caller
// builds one with shellQuote), with optional stdin, streamed output, a timeout and an abort signal.
// Everything else (atomic file writes, modes, package installs, service restarts) is built once on top of this
// in ./ops.ts, so a new executor only has to run commands.

/**
 * How to run one command: its stdin, streamed output, environment, timeout, cancellation and whether a non-zero exit
 * throws.
 */
export interface RunOptions {
  /** bytes or text written to the command's stdin, then closed */
  stdin?: string | Buffer;
  /** a local file streamed to the command's stdin, then closed (large uploads: never held in memory). Not with `stdin`. */
  stdinFile?: string;
  /**
   * With `stdinFile`: stream it from this byte on (0 by default; at most its size, which sends nothing). A resumed
   * upload sends only what the host does not have yet.
   */
  stdinFileOffset?: number;
  /** milliseconds; the command is killed and the result has timedOut: true */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** called with output chunks as they arrive */
  onStdout?: (chunk: Buffer) => void;
  /** Called with each chunk of stderr as it arrives. */
  onStderr?: (chunk: Buffer) => void;
  /** extra environment (names must be [A-Z_][A-Z0-9_]*) */
  env?: Record<string, string>;
  /** do not throw on a non-zero exit: return the result instead */
  allowFailure?: boolean;
}

/**
 * What a command did: its exit code or the signal that ended it, its output, whether it timed out and how long it took.
 */
export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs commands on one host: the one interface every way of reaching a host implements (dry-run, local, ssh, kind or
 * your own). File and service operations are built on {@link Executor.run} in this module, and
 * `airgap-k8s/executors/conformance` checks an implementation.
 */
export interface Executor {
  /** host name (from the spec) this executor reaches */
  readonly host: string;
  /** run argv[0] with arguments; rejects with ExecError on non-zero exit unless allowFailure */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * When set, the file helpers in ./ops.ts resolve every absolute path under this local directory (the local
   * executor's `root`, for tests). Commands themselves are never re-rooted: `systemctl restart x` is still run as is.
   */
  readonly fileRoot?: string;
  /** release connections */
  close(): Promise<void>;
}

/** A failed command, with everything needed to reproduce it by hand. Never holds stdin (it may carry secrets). */
export class ExecError extends Error {
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    const why = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
    super(`${host}: ${why}${tail(result.stderr) ? `: ${tail(result.stderr)}` : ''} (running ${briefCommand(argv)})`);
    this.name = 'ExecError';
  }

  /** the whole command, quoted for a terminal (the message carries only its start) */
  get command(): string {
    return prettyCommand(this.argv);
  }
}

/**
 * The start of a command for a one-line message: the cause leads, the command follows it briefly (a 10-line
 * preflight script must not push the cause off the screen). The whole command is in the error's `command`.
 */
export function briefCommand(argv: readonly string[], max = 80): string {
  const full = prettyCommand(argv);
  const first = full.split('\n')[0]!;
  return `\`${first.length > max ? `${first.slice(0, max)}` : first}${first.length > max || first !== full ? '…' : ''}\``;
}

/**
 * The command could not run to completion because the way to the host failed: connecting, authenticating, host key
 * checking, or the connection dropped while the command ran (`argv` is set then). `retryable` is false when trying
 * again cannot help (an unknown or mismatched host key, a refused key, a missing private key file).
 */
export class ExecConnectionError extends Error {
  constructor(
    readonly host: string,
    readonly argv: readonly string[] | undefined,
    /** what went wrong, without the host and command prefix */
    readonly detail: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${detail}${argv ? ` (running ${briefCommand(argv)})` : ''}`, options);
    this.name = 'ExecConnectionError';
  }

  /** the whole command that was cut off, when one was running */
  get command(): string | undefined {
    return this.argv ? prettyCommand(this.argv) : undefined;
  }
}

/** The caller's AbortSignal fired; the command was stopped (its process group signalled). `name` is 'AbortError'. */
export class ExecAbortedError extends Error {
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`${host}: aborted (running ${briefCommand(argv)})`, options);
    this.name = 'AbortError';
  }

  /** the whole aborted command, quoted for a terminal */
  get command(): string {
    return prettyCommand(this.argv);
  }
}

/** POSIX shell quoting: safe to paste into a terminal or pass to `sh -c`. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_\/.,:=+@%^-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argv as one line of shell text, each argument quoted where needed, that does the same when pasted into a shell.
 */
export function prettyCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** The last `lines` lines of a text, trailing whitespace dropped (stderr in error messages). */
export function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
