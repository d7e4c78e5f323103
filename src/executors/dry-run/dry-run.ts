// The dry-run executor: runs nothing, records what would run. For `plan`/`apply --executor dry-run` and the REST
// API's dry-run. stdin is recorded as its size and sha256 only — it may be a secret (a key, a token, a password
// file) and a record is meant to be printed, stored and returned over HTTP.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { checkRun, settle } from '../common.js';
import { ExecAbortedError, prettyCommand, type Executor, type RunOptions, type RunResult } from '../executor.js';

/**
 * One command the dry-run executor received: its argv and what came with it, never stdin's content or environment
 * values.
 */
export interface DryRunRecord {
  argv: string[];
  /** what came on stdin, never its content */
  stdin?: { bytes: number; sha256?: string } | { file: string; bytes: number; offset?: number };
  /** names of the extra environment variables (values may be secrets) */
  envNames?: string[];
  timeoutMs?: number;
}

/** What a recorded command "returns"; unspecified fields default to success with empty output. */
export type DryRunResponse = Partial<Pick<RunResult, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'timedOut'>>;

/** How a {@link DryRunExecutor} answers and records. */
export interface DryRunOptions {
  host?: string;
  /** answer per command, e.g. make probes report "absent" so a plan shows every step; undefined means success */
  respond?: (argv: readonly string[], record: DryRunRecord) => DryRunResponse | undefined;
  fileRoot?: string;
  /**
   * 'sha256' (default) records the digest of stdin, to compare with fileSha256 on a host. 'none' records the size
   * only: an unsalted digest of a file built from a known template around a short secret (an 8-character VRRP
   * auth_pass in keepalived.conf) can be brute-forced, so records that leave the machine (REST API) should use it.
   */
  stdinDigest?: 'sha256' | 'none';
}

/**
 * An executor that runs nothing: it records every command (`log`) and answers success, or what `respond` says. Plans
 * applied with it show what a real install would do.
 */
export class DryRunExecutor implements Executor {
  readonly host: string;
  readonly fileRoot: string | undefined;
  private readonly respond: DryRunOptions['respond'];
  private readonly digest: boolean;
  private readonly log: DryRunRecord[] = [];

  constructor(opts: DryRunOptions = {}) {
    this.host = opts.host ?? 'dry-run';
    this.fileRoot = opts.fileRoot;
    this.respond = opts.respond;
    this.digest = (opts.stdinDigest ?? 'sha256') === 'sha256';
  }

  /** every command run so far, in order (copies) */
  get records(): DryRunRecord[] {
    return this.log.map((r) => structuredClone(r));
  }

  /** the recorded commands as paste-able shell lines, stdin noted in a comment */
  script(): string {
    return this.log
      .map((r) => {
        const cmd = prettyCommand(r.argv);
        if (!r.stdin) return cmd;
        const what =
          'file' in r.stdin ? `${r.stdin.file} (${r.stdin.bytes} bytes${r.stdin.offset ? ` from byte ${r.stdin.offset}` : ''})` : `${r.stdin.bytes} bytes${r.stdin.sha256 ? `, sha256 ${r.stdin.sha256}` : ''}`;
        return `${cmd}  # stdin: ${what}`;
      })
      .join('\n');
  }

  /** Empties the record of commands. */
  clear(): void {
    this.log.length = 0;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkRun(argv, opts);
    if (opts.signal?.aborted) throw new ExecAbortedError(this.host, argv, { cause: opts.signal.reason });
    const record: DryRunRecord = { argv: [...argv] };
    if (opts.stdin !== undefined) {
      const buf = typeof opts.stdin === 'string' ? Buffer.from(opts.stdin, 'utf8') : opts.stdin;
      record.stdin = this.digest ? { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') } : { bytes: buf.length };
    } else if (opts.stdinFile !== undefined) {
      const offset = opts.stdinFileOffset ?? 0;
      record.stdin = { file: opts.stdinFile, bytes: statSync(opts.stdinFile).size - offset, ...(offset ? { offset } : {}) };
    }
    if (opts.env && Object.keys(opts.env).length) record.envNames = Object.keys(opts.env).sort();
    if (opts.timeoutMs !== undefined) record.timeoutMs = opts.timeoutMs;
    this.log.push(record);

    const r = this.respond?.(argv, structuredClone(record)) ?? {};
    const result: RunResult = {
      exitCode: r.exitCode === undefined ? (r.signal || r.timedOut ? null : 0) : r.exitCode,
      signal: r.signal ?? null,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      timedOut: r.timedOut ?? false,
      durationMs: 0,
    };
    if (result.stdout) opts.onStdout?.(Buffer.from(result.stdout, 'utf8'));
    if (result.stderr) opts.onStderr?.(Buffer.from(result.stderr, 'utf8'));
    return settle(this.host, argv, result, opts);
  }

  async close(): Promise<void> {}
}
