// The SSH executor (ssh2): one connection per host, reused for every command as exec channels.
//
// Design notes (what was measured with OpenSSH 9.2 and ssh2 1.17, and why the code looks the way it does):
// - The remote command is the ONE place argv becomes shell text: sshd always runs `$SHELL -c <string>`, so the
//   string is `exec` + argv joined with shellQuote (a POSIX login shell is required: sh, bash, dash, zsh, ksh).
// - Stopping a remote command (timeout, abort): sshd runs every session as its own process-group leader (setsid),
//   so killing the group ends the command and everything it started. The SSH `signal` channel request cannot be
//   used for this: ssh2 refuses to send it once stdin is closed (Channel#signal needs a writable channel), and
//   OpenSSH refuses it for root logins ("session signalling requires privilege separation"). So each command first
//   prints its process id (== group id) on stderr behind a marker that is stripped before the caller sees stderr,
//   and a stop sends `kill -TERM -- -<pgid>` (then KILL after killGraceMs) on a separate control channel, through
//   sudo when commands run through sudo.
// - sudo: `sudo -n --` prefix for a non-root user; the first command on each connection is preceded by a
//   `sudo -n true` probe so a user without password-less sudo gets one clear error instead of a failed step.
// - Environment: `env -- NAME=value` inside the command (sshd only accepts AcceptEnv names; sudo resets the env).
// - Concurrency: at most `maxSessions` channels run commands at once (OpenSSH MaxSessions defaults to 10; the
//   default 8 leaves room for the control channel).
// - A dropped connection fails the commands in flight with ExecConnectionError ('connection lost'; a remote command
//   may survive it, its process group is named in the message) and the NEXT command reconnects. A command still
//   waiting for its turn when the connection drops did not run, and is sent on the new connection.
// - Keep-alive (keepaliveIntervalMs, keepaliveCountMax) detects a silent drop (a host that stopped answering).
// - A large stdinFile (8 MiB or more) streams from a second connection in a thread of its own (./bulk.ts), where the
//   bytes cost this process about half the CPU; `bulk: false` keeps everything on the one connection. The executor's
//   own connection opens alongside the first such transfer, for the commands after it.
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import type { Client as Ssh2Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import type { HostView } from '../../spec/derive.js';
import type { Secrets } from '../../secrets/types.js';
import { importForFeature } from '../../optional.js';
import { checkRun, Collector, normalizeSignal, sendStdinFile, settle, watchStop } from '../common.js';
import { ExecAbortedError, ExecConnectionError, shellQuote, type Executor, type RunOptions, type RunResult } from '../executor.js';
import { KILL_SCRIPT, PID_ANNOUNCE, PidFilter } from '../process-group.js';
import { checkHostKey, knownKeyTypes, type HostKeyPolicy } from './host-keys.js';
import { BULK_MIN_BYTES, bulkThread } from './bulk.js';

/** ssh2, loaded on the first connection: commands that never connect (validate, plan, render) start without it */
type Ssh2 = typeof import('ssh2');
let ssh2Module: Promise<Ssh2> | undefined;
// a CommonJS package: its module.exports is the ES module's default export
// an optional dependency (src/optional.ts): its absence is a MissingDependencyError naming it
const loadSsh2 = () =>
  (ssh2Module ??= importForFeature('the SSH executor', () => import('ssh2')).then((m) => (m as unknown as { default: Ssh2 }).default)).catch((e: unknown) => {
    ssh2Module = undefined;
    throw e;
  });

/** Where and as whom a {@link SshExecutor} connects, how it checks the host key and its timeouts. */
export interface SshExecutorOptions {
  /** host name (from the spec) used in messages */
  host: string;
  /** where to connect */
  address: string;
  port?: number;
  user: string;
  /** private key file; a leading `~/` is the local home directory */
  privateKeyPath?: string;
  /** or the key itself (tests) */
  privateKey?: string | Buffer;
  passphrase?: string;
  /** how the server's key is checked; there is no "accept anything" */
  hostKey: { fingerprint: string } | { knownHostsFile: string };
  /** run commands through `sudo -n --`; default: when user is not root */
  sudo?: boolean;
  /** TCP connect + SSH handshake + authentication; default 10000 */
  connectTimeoutMs?: number;
  /** default 15000; 0 disables */
  keepaliveIntervalMs?: number;
  /** unanswered keep-alives before the connection counts as dropped; default 3 */
  keepaliveCountMax?: number;
  /** concurrent command channels on the connection; default 8 */
  maxSessions?: number;
  /** after SIGTERM to a stopped command's group, how long before SIGKILL; default 2000 */
  killGraceMs?: number;
  /**
   * A command whose stdin is a local file of 8 MiB or more to send runs on a second connection, which a worker thread
   * of this process opens with these same options and streams the file from (an isolate that loads only the SSH
   * executor moves the bytes for about half the CPU: src/executors/ssh/bulk.ts); default true. false: every command
   * on this executor's one connection.
   */
  bulk?: boolean;
}

/** Bytes of `file` from `offset` on; 0 when it cannot be read (the command then fails as it would anyway). */
function bytesToSend(file: string, offset = 0): number {
  try {
    return statSync(file).size - offset;
  } catch {
    return 0;
  }
}

/** `~/x` → `$HOME/x`. `~user/x` is refused (no portable lookup of another user's home). */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return `${homedir()}${path.slice(1)}`;
  if (path.startsWith('~')) throw new Error(`cannot expand ${path}: only ~/ (this user's home) is supported`);
  return path;
}

/** The executor for a spec host: key from the secrets file (privateKeyRef), the pinned fingerprint or known_hosts. */
export function sshExecutorForHost(
  host: HostView,
  secrets: Pick<Secrets, 'sshKeys'>,
  opts: { knownHostsFile?: string } & Partial<Omit<SshExecutorOptions, 'host' | 'address' | 'port' | 'user' | 'hostKey' | 'privateKeyPath'>> = {},
): SshExecutor {
  const ref = host.ssh.privateKeyRef;
  const key = secrets.sshKeys[ref];
  if (!key) throw new Error(`${host.name}: ssh key reference ${JSON.stringify(ref)} is not in the secrets file (sshKeys.${ref}.path)`);
  const { knownHostsFile, ...rest } = opts;
  return new SshExecutor({
    ...rest,
    host: host.name,
    address: host.address,
    port: host.ssh.port,
    user: host.ssh.user,
    privateKeyPath: key.path,
    hostKey: host.ssh.hostKeyFingerprint ? { fingerprint: host.ssh.hostKeyFingerprint } : { knownHostsFile: knownHostsFile ?? '~/.ssh/known_hosts' },
  });
}

/** ssh2's default host key algorithms, in its order of preference. */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The shell text sshd runs for argv: announce the process id on stderr, then exec the command. */
export function remoteCommand(argv: readonly string[], opts: { sudo: boolean; env?: Record<string, string> | undefined }): string {
  const words: string[] = [];
  if (opts.sudo) words.push('sudo', '-n', '--');
  const env = Object.entries(opts.env ?? {});
  // `env` also when sudo runs the command: sudo answers a missing command with exit 1, env with 127 like a shell.
  if (env.length || opts.sudo) {
    if (argv[0]!.includes('=')) throw new TypeError(`run: the command name cannot contain "=" here (env would take it for a variable): ${argv[0]}`);
    words.push('env', '--', ...env.map(([k, v]) => `${k}=${v}`));
  }
  words.push(...argv);
  return `${PID_ANNOUNCE} exec ${words.map(shellQuote).join(' ')}`;
}

class Semaphore {
  private queue: Array<() => void> = [];
  constructor(private free: number) {}
  /** resolves with a release function; `cancel` withdraws a waiting request */
  acquire(): { ready: Promise<() => void>; cancel: () => void } {
    let waiter: (() => void) | undefined;
    const ready = new Promise<() => void>((resolve) => {
      const grant = () => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.queue.shift();
          if (next) next();
          else this.free++;
        });
      };
      if (this.free > 0) {
        this.free--;
        grant();
      } else {
        waiter = grant;
        this.queue.push(grant);
      }
    });
    return {
      ready,
      cancel: () => {
        if (!waiter) return;
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      },
    };
  }
}

interface Connection {
  client: Ssh2Client;
  alive: boolean;
  lastError: Error | undefined;
  /** called when the connection drops, with its cause */
  readonly watchers: Set<(cause: string) => void>;
  readonly slots: Semaphore;
  readonly killQueue: Set<number>;
  killing: boolean;
}

/** Runs a short control command on its own channel (outside the command slots): sudo probe, kills. */
function execRaw(conn: Connection, command: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      conn.client.exec(command, (err, ch) => {
        if (err) {
          clearTimeout(timer);
          reject(err);
          return;
        }
        ch.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
        ch.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        ch.on('exit', (c: number | null) => (code = c));
        ch.on('close', () => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        ch.end();
      });
    } catch (e) {
      clearTimeout(timer);
      reject(e as Error);
    }
  });
}

/**
 * Runs commands on a host over SSH (one connection, reconnected when dropped; sudo for a non-root user). Needs the
 * optional dependency ssh2.
 */
export class SshExecutor implements Executor {
  readonly host: string;
  private readonly o: Required<Omit<SshExecutorOptions, 'privateKeyPath' | 'privateKey' | 'passphrase'>> &
    Pick<SshExecutorOptions, 'privateKeyPath' | 'privateKey' | 'passphrase'>;
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;

  constructor(opts: SshExecutorOptions) {
    if (!opts.privateKey && !opts.privateKeyPath) throw new TypeError(`${opts.host}: ssh needs privateKeyPath or privateKey`);
    if ('fingerprint' in opts.hostKey && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(opts.hostKey.fingerprint)) {
      throw new TypeError(`${opts.host}: host key fingerprint must look like SHA256:<43 base64 chars> (ssh-keygen -lf): ${opts.hostKey.fingerprint}`);
    }
    this.host = opts.host;
    this.o = {
      port: 22,
      sudo: opts.user !== 'root',
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 15_000,
      keepaliveCountMax: 3,
      maxSessions: 8,
      killGraceMs: 2000,
      bulk: true,
      ...opts,
    };
  }

  /** this executor's connection in the transfer thread, once it used one (closed with this executor) */
  private bulkKey: string | undefined;

  /** the sshd-side address of this executor, for messages */
  get target(): string {
    return `${this.o.user}@${this.o.address}:${this.o.port}`;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    checkRun(argv, opts);
    if (opts.signal?.aborted) throw new ExecAbortedError(this.host, argv, { cause: opts.signal.reason });
    if (this.o.bulk && opts.stdinFile !== undefined && !opts.onStdout && !opts.onStderr && bytesToSend(opts.stdinFile, opts.stdinFileOffset) >= BULK_MIN_BYTES) {
      // the command connection opens alongside: the command after an upload (its check, a rename, an install) wants
      // it, and its handshake is then hidden behind the transfer rather than added after it
      if (!this.conn?.alive) this.connection().catch(() => undefined);
      return bulkThread().run((this.bulkKey ??= randomUUID()), this.o, argv, opts);
    }
    const command = remoteCommand(argv, { sudo: this.o.sudo, env: opts.env });
    return settle(this.host, argv, await this.runChannel(argv, command, opts), opts);
  }

  /** Ends the connection (commands in flight fail with 'connection lost'). A later run connects again. */
  async close(): Promise<void> {
    if (this.bulkKey) bulkThread().close(this.bulkKey);
    this.bulkKey = undefined;
    const pending = this.connecting;
    if (pending) await pending.catch(() => undefined);
    const conn = this.conn;
    this.conn = undefined;
    if (!conn?.alive) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        conn.client.destroy();
        resolve();
      }, 2000);
      conn.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      conn.client.end();
    });
  }

  // ---- connection ----

  private connection(): Promise<Connection> {
    if (this.conn?.alive) return Promise.resolve(this.conn);
    this.connecting ??= this.connect().then(
      (c) => {
        this.connecting = undefined;
        this.conn = c;
        return c;
      },
      (e: unknown) => {
        this.connecting = undefined;
        throw e;
      },
    );
    return this.connecting;
  }

  private fail(message: string, retryable: boolean, cause?: unknown): ExecConnectionError {
    return new ExecConnectionError(this.host, undefined, `ssh ${this.target}: ${message}`, retryable, cause === undefined ? undefined : { cause });
  }

  private loadKey(utils: Ssh2['utils']): Buffer | string {
    let key: Buffer | string;
    let where = 'the private key given';
    if (this.o.privateKey !== undefined) key = this.o.privateKey;
    else {
      const path = expandHome(this.o.privateKeyPath!);
      where = path;
      try {
        key = readFileSync(path);
      } catch (e) {
        throw this.fail(`cannot read the private key ${path}: ${(e as Error).message}`, false, e);
      }
    }
    const parsed = utils.parseKey(key, this.o.passphrase);
    if (parsed instanceof Error) throw this.fail(`cannot use the private key ${where}: ${parsed.message}`, false, parsed);
    return key;
  }

  private hostKeyPolicy(): HostKeyPolicy {
    if ('fingerprint' in this.o.hostKey) return { fingerprint: this.o.hostKey.fingerprint };
    const file = expandHome(this.o.hostKey.knownHostsFile);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.fail(`cannot read known_hosts ${file}: ${(e as Error).message}`, false, e);
    }
    return { knownHostsFile: file, knownHostsText: text };
  }

  private async connect(): Promise<Connection> {
    let ssh2: Ssh2;
    try {
      ssh2 = await loadSsh2();
    } catch (e) {
      // trying again cannot install it: not retryable, the message names the package
      throw this.fail((e as Error).message, false, e);
    }
    const { Client, utils } = ssh2;
    let key: Buffer | string;
    let policy: HostKeyPolicy;
    try {
      key = this.loadKey(utils);
      policy = this.hostKeyPolicy();
    } catch (e) {
      return Promise.reject(e);
    }
    const { address, port } = this.o;
    // Ask the server for a key type known_hosts can vouch for (as OpenSSH's client does), others after it.
    const known = knownKeyTypes(policy, address, port)
      .flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]))
      .filter((t): t is ServerHostKeyAlgorithm => (HOST_KEY_ALGORITHMS as readonly string[]).includes(t));
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      let rejection: string | undefined;
      let conn: Connection | undefined;
      let settled = false;
      const fail = (err: ExecConnectionError) => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(err);
      };
      const succeed = (c: Connection) => {
        if (settled) return;
        settled = true;
        resolve(c);
      };
      client.on('error', (err: Error & { level?: string }) => {
        if (settled) {
          if (conn) conn.lastError = err;
          return;
        }
        if (rejection) return fail(this.fail(rejection, false));
        if (err.level === 'client-authentication') {
          const keyName = this.o.privateKeyPath ? ` with the key ${this.o.privateKeyPath}` : '';
          return fail(this.fail(`authentication as ${this.o.user}${keyName} was refused (is its public key in the user's authorized_keys?)`, false, err));
        }
        if (err.level === 'client-timeout') return fail(this.fail(`no SSH session within ${this.o.connectTimeoutMs} ms (connect timeout)`, true, err));
        fail(this.fail(`cannot connect: ${err.message}`, true, err));
      });
      // FIN from the server: no new command goes on this connection (its close event, which fails the commands in
      // flight, follows).
      client.on('end', () => {
        if (conn) conn.alive = false;
      });
      client.on('close', () => {
        if (!settled) return fail(this.fail(rejection ?? 'the connection closed during the SSH handshake', rejection === undefined));
        if (!conn) return;
        conn.alive = false;
        const cause = conn.lastError?.message ?? 'the connection closed';
        for (const w of [...conn.watchers]) w(cause);
      });
      client.on('ready', () => {
        const c: Connection = {
          client,
          alive: true,
          lastError: undefined,
          watchers: new Set(),
          slots: new Semaphore(this.o.maxSessions),
          killQueue: new Set(),
          killing: false,
        };
        conn = c;
        if (!this.o.sudo) return succeed(c);
        execRaw(c, 'sudo -n true', this.o.connectTimeoutMs).then(
          (r) => {
            if (r.code === 0) return succeed(c);
            const why = r.stderr.trim().split('\n').slice(-2).join(' ') || `exit code ${r.code}`;
            const msg =
              r.code === 127
                ? `commands run through sudo for ${this.o.user}, but sudo is not installed there (${why})`
                : `${this.o.user} cannot run sudo without a password (\`sudo -n true\`: ${why}); allow it (e.g. /etc/sudoers.d/airgap-k8s: "${this.o.user} ALL=(ALL) NOPASSWD: ALL") or connect as root`;
            fail(this.fail(msg, false));
          },
          (e: Error) => fail(this.fail(`the sudo check failed: ${e.message}`, true, e)),
        );
      });
      const cfg: ConnectConfig = {
        host: address,
        port,
        username: this.o.user,
        privateKey: key,
        readyTimeout: this.o.connectTimeoutMs,
        keepaliveInterval: this.o.keepaliveIntervalMs,
        keepaliveCountMax: this.o.keepaliveCountMax,
        hostVerifier: (blob: Buffer) => {
          const v = checkHostKey(policy, address, port, blob);
          if (!v.ok) rejection = v.message;
          return v.ok;
        },
      };
      if (this.o.passphrase !== undefined) cfg.passphrase = this.o.passphrase;
      // An exact list: ssh2's {prepend} skips algorithms already in its default list, so it cannot reorder them.
      if (known.length) cfg.algorithms = { serverHostKey: [...new Set([...known, ...HOST_KEY_ALGORITHMS])] };
      try {
        client.connect(cfg);
      } catch (e) {
        fail(this.fail(`cannot start the connection: ${(e as Error).message}`, false, e));
      }
    });
  }

  /** Kill process groups on the host, batched on one control channel at a time. */
  private kill(conn: Connection, pgid: number): void {
    conn.killQueue.add(pgid);
    if (conn.killing) return;
    conn.killing = true;
    void (async () => {
      while (conn.killQueue.size && conn.alive) {
        const pids = [...conn.killQueue];
        conn.killQueue.clear();
        const words = [...(this.o.sudo ? ['sudo', '-n', '--'] : []), 'sh', '-c', KILL_SCRIPT, 'airgap-kill', String(Math.ceil(this.o.killGraceMs / 100)), ...pids.map(String)];
        try {
          await execRaw(conn, words.map(shellQuote).join(' '), this.o.killGraceMs + 5000);
        } catch {
          // the command's own force-close bound still ends the run; nothing more to do here
        }
      }
      conn.killing = false;
    })();
  }

  /** A command whose run already ended (stopped while its session opened): kill it once it names its group. */
  private reapLate(c: Connection, ch: ClientChannel): void {
    const filter = new PidFilter(new Collector());
    filter.onPid = (pid) => this.kill(c, pid);
    ch.on('data', () => {});
    ch.stderr.on('data', (b: Buffer) => filter.push(b));
    ch.end();
    const t = setTimeout(() => ch.close(), this.o.killGraceMs + 3000);
    ch.on('close', () => clearTimeout(t));
  }

  // ---- one command ----

  private runChannel(argv: readonly string[], command: string, opts: RunOptions): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const start = performance.now();
      const stdout = new Collector(opts.onStdout);
      const errOut = new Collector(opts.onStderr);
      const stderr = new PidFilter(errOut);
      // connecting/queued: nothing has reached the host yet (safe to retry on a new connection)
      let phase: 'connecting' | 'queued' | 'opening' | 'running' = 'connecting';
      let conn: Connection | undefined;
      let channel: ClientChannel | undefined;
      let release: (() => void) | undefined;
      let cancelWait: (() => void) | undefined;
      let timedOut = false;
      let aborted = false;
      let stopping = false;
      let done = false;
      let exit: { code: number | null; signal: string | null } | undefined;
      let attempts = 0;
      let stdinFailure: Error | undefined;
      const timers: NodeJS.Timeout[] = [];
      let disarm = () => {};

      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        disarm();
        conn?.watchers.delete(onLost);
        cancelWait?.();
        release?.();
        if (err) return reject(err);
        if (aborted) return reject(new ExecAbortedError(this.host, argv, { cause: opts.signal?.reason }));
        if (stdinFailure) return reject(stdinFailure);
        stderr.flush();
        resolve({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          stdout: stdout.text(),
          stderr: errOut.text(),
          timedOut,
          durationMs: performance.now() - start,
        });
      };

      const stop = () => {
        if (stopping || done) return;
        stopping = true;
        if (phase === 'connecting' || phase === 'queued') return finish(); // nothing started
        const c = conn!;
        if (stderr.pid !== undefined) this.kill(c, stderr.pid);
        else stderr.onPid = (pid) => this.kill(c, pid);
        // Bounded even when the kill cannot be delivered: stop waiting and close the channel.
        timers.push(
          setTimeout(() => {
            channel?.close();
            finish();
          }, this.o.killGraceMs + 3000),
        );
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };

      const onLost = (cause: string) => {
        if (done) return;
        if (phase === 'connecting' || phase === 'queued') return attempt(); // it never ran: use a new connection
        if (stopping) return finish();
        const pid = stderr.pid !== undefined ? `; the command may still be running there as process group ${stderr.pid}` : '';
        finish(
          new ExecConnectionError(
            this.host,
            argv,
            `connection lost to ${this.target} after ${Math.round(performance.now() - start)} ms while the command ran (${cause})${pid}`,
            true,
          ),
        );
      };

      const attempt = (): void => {
        if (done) return;
        conn?.watchers.delete(onLost);
        cancelWait?.();
        cancelWait = undefined;
        release?.();
        release = undefined;
        if (++attempts > 3) {
          return finish(new ExecConnectionError(this.host, argv, `ssh ${this.target}: the connection kept dropping before the command could start`, true));
        }
        phase = 'connecting';
        this.connection().then(
          (c) => {
            if (done) return;
            conn = c;
            if (!c.alive) return attempt();
            c.watchers.add(onLost);
            phase = 'queued';
            const w = c.slots.acquire();
            cancelWait = w.cancel;
            void w.ready.then((rel) => {
              if (done || conn !== c || phase !== 'queued') return rel();
              cancelWait = undefined;
              release = rel;
              open(c, 0);
            });
          },
          (e: unknown) =>
            finish(e instanceof ExecConnectionError ? new ExecConnectionError(this.host, argv, e.detail, e.retryable, { cause: e }) : (e as Error)),
        );
      };

      const open = (c: Connection, tries: number): void => {
        phase = 'opening';
        try {
          c.client.exec(command, (err, ch) => {
            if (done) {
              // We stopped waiting while the session was opening, but the command started: stop it too.
              if (ch) this.reapLate(c, ch);
              return;
            }
            if (err) {
              if (!c.alive) return; // onLost decides
              // "open failed": the server's session limit, or sessions whose processes linger; back off a little.
              if (tries < 3) {
                timers.push(setTimeout(() => open(c, tries + 1), 250 * 2 ** tries));
                return;
              }
              return finish(
                new ExecConnectionError(this.host, argv, `ssh ${this.target}: cannot open a session channel: ${err.message} (is the server's MaxSessions below maxSessions ${this.o.maxSessions}?)`, true, { cause: err }),
              );
            }
            phase = 'running';
            channel = ch;
            ch.on('data', (b: Buffer) => stdout.push(b));
            ch.stderr.on('data', (b: Buffer) => stderr.push(b));
            ch.on('exit', (code: number | null, signal?: string) => {
              exit = typeof code === 'number' ? { code, signal: null } : { code: null, signal: normalizeSignal(signal) };
            });
            ch.on('close', () => {
              if (exit || stopping) return finish();
              // sshd reports an exit status or signal before it closes a session; without one, the transport died.
              setImmediate(() => (c.alive ? finish() : onLost(c.lastError?.message ?? 'the connection closed')));
            });
            if (opts.stdinFile !== undefined) {
              sendStdinFile(opts, ch, (e) => {
                // Never send EOF after a failed read: kill the command before it takes a short input for a whole one.
                stdinFailure = new Error(`${this.host}: could not read stdinFile ${opts.stdinFile}: ${e.message}; the command was stopped before its input ended`, { cause: e });
                stop();
              });
            } else {
              ch.end(opts.stdin);
            }
          });
        } catch {
          // 'Not connected': the socket died before its close event; nothing ran, so retry on a new connection
          phase = 'queued';
          if (c.alive) {
            c.alive = false;
            onLost('the connection closed');
          }
        }
      };

      disarm = watchStop(opts, {
        timeout: () => {
          timedOut = true;
          stop();
        },
        abort: onAbort,
      });
      attempt();
    });
  }
}
