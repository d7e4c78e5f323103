// The SSH executor against a REAL OpenSSH sshd started for this file on 127.0.0.1 (see ./sshd.ts):
// the conformance suite as root (known_hosts) and as a non-root user through sudo (pinned fingerprint), then what
// only SSH has: host key checking, authentication, one reused connection, dropped connections, keep-alive, timeouts.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecAbortedError, ExecConnectionError, ExecError } from '../../src/executors/executor.js';
import { SshExecutor, sshExecutorForHost, type SshExecutorOptions } from '../../src/executors/ssh/ssh.js';
import type { HostView } from '../../src/spec/derive.js';
import { executorConformance } from '../../src/executors/conformance.js';
import { NOSUDO_USER, startSshd, SUDO_USER, type TestSshd } from './sshd.js';

let sshd: TestSshd;
let knownHosts: string;
const executors: SshExecutor[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  // known_hosts as OpenSSH's own tool writes it: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`
  knownHosts = join(sshd.dir, 'known_hosts');
  writeFileSync(knownHosts, execFileSync('ssh-keyscan', ['-p', String(sshd.port), '-t', 'ed25519,ecdsa', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
}, 60_000);

afterAll(async () => {
  await Promise.all(executors.map((e) => e.close()));
  // orphans of the dropped-connection cases (their sessions' sshd was killed under them)
  try {
    execFileSync('pkill', ['-f', '[s]leep 4[0-9]\\.9']);
  } catch {
    // none left
  }
  await sshd?.stop();
}, 30_000);

function ssh(over: Partial<SshExecutorOptions> = {}): SshExecutor {
  const e = new SshExecutor({
    host: 'sshd-test',
    address: '127.0.0.1',
    port: sshd.port,
    user: 'root',
    privateKeyPath: sshd.clientKey,
    hostKey: { knownHostsFile: knownHosts },
    connectTimeoutMs: 5000,
    ...over,
  });
  executors.push(e);
  return e;
}

const fp = (type: 'ed25519' | 'ecdsa') => sshd.fingerprint(`${sshd.hostKeys[type]}.pub`);

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

/** a one-shot latch with a bounded wait */
function signal(): { resolve: () => void; wait: (ms: number) => Promise<void> } {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return {
    resolve,
    wait: (ms) => Promise.race([p, new Promise<void>((_, rej) => setTimeout(() => rej(new Error(`not started within ${ms} ms`)), ms))]),
  };
}

/** the client port of the executor's connection, as sshd sees it */
async function clientPort(e: SshExecutor): Promise<number> {
  const r = await e.run(['sh', '-c', 'echo $SSH_CONNECTION']);
  return Number(r.stdout.trim().split(' ')[1]);
}

executorConformance('ssh as root, known_hosts', () => ssh());
executorConformance('ssh as a sudo user, pinned fingerprint', () => ssh({ user: SUDO_USER, hostKey: { fingerprint: fp('ed25519') } }));

describe('ssh: host key checking (never accept an unknown key)', () => {
  it('an unknown host is rejected, naming the offered fingerprint exactly as ssh-keygen -l prints it', async () => {
    const empty = join(sshd.dir, 'known_hosts.empty');
    writeFileSync(empty, '');
    const err = await rejection(ssh({ hostKey: { knownHostsFile: empty } }).run(['true']));
    expect(err).toBeInstanceOf(ExecConnectionError);
    expect((err as ExecConnectionError).retryable).toBe(false);
    expect(err.message).toContain('not known');
    expect(err.message).toContain(fp('ed25519'));
    expect(err.message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`);
  });

  it('a missing known_hosts file is an unknown host, not an error to skip', async () => {
    const err = await rejection(ssh({ hostKey: { knownHostsFile: join(sshd.dir, 'nope') } }).run(['true']));
    expect(err.message).toContain('not known');
  });

  it('a pinned fingerprint from ssh-keygen -lf is accepted', async () => {
    const r = await ssh({ hostKey: { fingerprint: fp('ed25519') } }).run(['echo', 'pinned']);
    expect(r.stdout).toBe('pinned\n');
  });

  it('a wrong pinned fingerprint is rejected with both fingerprints', async () => {
    const other = sshd.fingerprint(`${sshd.strangerKey}.pub`);
    const err = await rejection(ssh({ hostKey: { fingerprint: other } }).run(['true']));
    expect(err.message).toContain('mismatch');
    expect(err.message).toContain(fp('ed25519'));
    expect(err.message).toContain(other);
    expect((err as ExecConnectionError).retryable).toBe(false);
  });

  it('a known_hosts entry with a different key of the same type is a MISMATCH', async () => {
    const wrong = join(sshd.dir, 'known_hosts.wrong');
    const strangerPub = readFileSync(`${sshd.strangerKey}.pub`, 'utf8').split(' ');
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${strangerPub[0]} ${strangerPub[1]}\n`);
    const err = await rejection(ssh({ hostKey: { knownHostsFile: wrong } }).run(['true']));
    expect(err.message).toContain('HOST KEY MISMATCH');
    expect(err.message).toContain(fp('ed25519'));
    expect(err.message).toContain(`${wrong} line 1`);
  });

  it('hashed known_hosts (ssh-keygen -H) is accepted', async () => {
    const hashed = join(sshd.dir, 'known_hosts.hashed');
    writeFileSync(hashed, readFileSync(knownHosts));
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    expect(readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/m);
    expect(readFileSync(hashed, 'utf8')).not.toContain('127.0.0.1');
    expect((await ssh({ hostKey: { knownHostsFile: hashed } }).run(['echo', 'ok'])).stdout).toBe('ok\n');
  });

  it('with only the ECDSA key in known_hosts, the client asks for that key type (as OpenSSH does)', async () => {
    const ecdsaOnly = join(sshd.dir, 'known_hosts.ecdsa');
    writeFileSync(ecdsaOnly, execFileSync('ssh-keyscan', ['-p', String(sshd.port), '-t', 'ecdsa', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect((await ssh({ hostKey: { knownHostsFile: ecdsaOnly } }).run(['echo', 'ok'])).stdout).toBe('ok\n');
  });

  it('a @revoked key is refused', async () => {
    const revoked = join(sshd.dir, 'known_hosts.revoked');
    const pub = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8').split(' ');
    // known AND revoked: @revoked wins (only the ed25519 key is listed, so that is the key the server offers)
    writeFileSync(revoked, `[127.0.0.1]:${sshd.port} ${pub[0]} ${pub[1]}\n@revoked * ${pub[0]} ${pub[1]}\n`);
    const err = await rejection(ssh({ hostKey: { knownHostsFile: revoked }, connectTimeoutMs: 5000 }).run(['true']));
    expect(err.message).toContain('@revoked');
  });
});

describe('ssh: authentication and connecting', () => {
  it('a key the server does not know is refused clearly (not retryable)', async () => {
    const err = await rejection(ssh({ privateKeyPath: sshd.strangerKey }).run(['true']));
    expect(err).toBeInstanceOf(ExecConnectionError);
    expect(err.message).toContain('authentication as root');
    expect(err.message).toContain(sshd.strangerKey);
    expect((err as ExecConnectionError).retryable).toBe(false);
  });

  it('a missing private key file is named in the error', async () => {
    const err = await rejection(ssh({ privateKeyPath: join(sshd.dir, 'no-such-key') }).run(['true']));
    expect(err.message).toContain('cannot read the private key');
    expect(err.message).toContain('no-such-key');
  });

  it('a user without password-less sudo gets one clear error before anything runs', async () => {
    const err = await rejection(ssh({ user: NOSUDO_USER }).run(['true']));
    expect(err.message).toContain(`${NOSUDO_USER} cannot run sudo without a password`);
    expect(err.message).toContain('a password is required');
    expect(err.message).toContain('NOPASSWD');
  });

  it('a non-root user without sudo runs commands as itself when sudo is off', async () => {
    const r = await ssh({ user: NOSUDO_USER, sudo: false }).run(['id', '-un']);
    expect(r.stdout).toBe(`${NOSUDO_USER}\n`);
  });

  it('a sudo user runs commands as root', async () => {
    const r = await ssh({ user: SUDO_USER, hostKey: { fingerprint: fp('ed25519') } }).run(['id', '-un']);
    expect(r.stdout).toBe('root\n');
  });

  it('connectTimeoutMs bounds a server that accepts TCP but never speaks SSH', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = performance.now();
      const err = await rejection(ssh({ port, connectTimeoutMs: 700 }).run(['true']));
      const took = performance.now() - t0;
      expect(err.message).toContain('connect timeout');
      expect((err as ExecConnectionError).retryable).toBe(true);
      expect(took).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('a closed port fails fast and retryably', async () => {
    const closed: Server = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await rejection(ssh({ port }).run(['true']));
    expect(err.message).toContain('ECONNREFUSED');
    expect((err as ExecConnectionError).retryable).toBe(true);
  });

  it('sshExecutorForHost resolves privateKeyRef through the secrets file and uses the pinned fingerprint', async () => {
    const host = {
      name: 'cp-1',
      address: '127.0.0.1',
      ssh: { user: 'root', port: sshd.port, privateKeyRef: 'deploy', hostKeyFingerprint: fp('ed25519') },
    } as HostView;
    const e = sshExecutorForHost(host, { sshKeys: { deploy: { path: sshd.clientKey } } });
    executors.push(e);
    expect(e.host).toBe('cp-1');
    expect((await e.run(['echo', 'via spec'])).stdout).toBe('via spec\n');
    expect(() => sshExecutorForHost(host, { sshKeys: {} })).toThrow(/sshKeys\.deploy\.path/);
  });
});

describe('ssh: one connection, dropped connections, keep-alive', () => {
  it('reuses ONE connection for sequential and concurrent commands', async () => {
    const e = ssh();
    const ports = new Set<number>();
    for (let i = 0; i < 3; i++) ports.add(await clientPort(e));
    const rs = await Promise.all(Array.from({ length: 12 }, () => e.run(['sh', '-c', 'echo $SSH_CONNECTION'])));
    for (const r of rs) ports.add(Number(r.stdout.split(' ')[1]));
    expect(ports.size).toBe(1);
  });

  it('reconnects for the next command after the connection was dropped', async () => {
    const e = ssh();
    const before = await clientPort(e);
    const pids = sshd.connectionPids(before);
    expect(pids.length).toBeGreaterThan(0);
    for (const p of pids) process.kill(p, 'SIGKILL');
    // give the client a moment to see the FIN; the next command must succeed on a new connection either way
    await new Promise((r) => setTimeout(r, 200));
    const after = await clientPort(e);
    expect(after).not.toBe(before);
  });

  it('a command in flight when the connection drops fails promptly with host, command and "connection lost"', async () => {
    const e = ssh();
    const started = signal();
    const port = await clientPort(e);
    const inflight = e.run(['sh', '-c', 'echo started; sleep 40.9; echo never'], { onStdout: () => started.resolve() }).then(
      () => undefined,
      (err: Error) => ({ err, at: performance.now() }),
    );
    await started.wait(15_000);
    const killedAt = performance.now();
    for (const p of sshd.connectionPids(port)) process.kill(p, 'SIGKILL');
    const out = await inflight;
    expect(out).toBeDefined();
    expect(out!.err).toBeInstanceOf(ExecConnectionError);
    expect(out!.err.message).toContain('sshd-test:');
    expect(out!.err.message).toContain(`sh -c 'echo started; sleep 40.9; echo never'`);
    expect(out!.err.message).toContain('connection lost');
    expect(out!.err.message).toMatch(/process group \d+/);
    expect(out!.at - killedAt).toBeLessThan(3000);
    // and the executor is usable again
    expect((await e.run(['echo', 'back'])).stdout).toBe('back\n');
  });

  it('keep-alive notices a host that stops answering (no FIN, no RST) and fails the command in flight', async () => {
    const e = ssh({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    const started = signal();
    const port = await clientPort(e);
    const pids = sshd.connectionPids(port);
    const inflight = e.run(['sh', '-c', 'echo started; sleep 41.9; echo never'], { onStdout: () => started.resolve() }).then(
      () => undefined,
      (err: Error) => ({ err, at: performance.now() }),
    );
    await started.wait(15_000);
    const frozenAt = performance.now();
    for (const p of pids) process.kill(p, 'SIGSTOP');
    try {
      const out = await inflight;
      expect(out!.err.message).toContain('connection lost');
      expect(out!.err.message.toLowerCase()).toContain('keepalive');
      // 200 ms interval x 2 unanswered: well under a second unloaded; bounded generously for a busy machine
      expect(out!.at - frozenAt).toBeLessThan(5000);
    } finally {
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    expect((await e.run(['echo', 'alive again'])).stdout).toBe('alive again\n');
  });

  it('more concurrent commands than sshd MaxSessions (10) all succeed (bounded channels)', async () => {
    const e = ssh({ maxSessions: 8 });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => e.run(['sh', '-c', 'sleep 0.2; echo $1', 'sh', String(i)])));
    expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });
});

describe('ssh: a large stdinFile streams from the transfer thread (bulk.ts)', () => {
  const MiB = 1024 * 1024;
  let big: string;
  let bigSha: string;
  beforeAll(() => {
    big = join(sshd.dir, 'big.bin');
    const data = randomBytes(12 * MiB);
    writeFileSync(big, data);
    bigSha = createHash('sha256').update(data).digest('hex');
  });
  /** the first output line, and the client port of the connection the command ran on */
  const ranOn = (stdout: string) => {
    const [first, conn] = stdout.trim().split('\n');
    return { first: first!.trim(), port: Number(conn!.split(' ')[1]) };
  };

  it("8 MiB or more to send: a second connection, the thread's, reused; less, and with bulk: false, the executor's own", async () => {
    const e = ssh();
    const own = await clientPort(e);
    const whole = ranOn((await e.run(['sh', '-c', 'sha256sum; echo $SSH_CONNECTION'], { stdinFile: big })).stdout);
    expect(whole.first.slice(0, 64)).toBe(bigSha);
    expect(whole.port).not.toBe(own);
    const rest = ranOn((await e.run(['sh', '-c', 'wc -c; echo $SSH_CONNECTION'], { stdinFile: big, stdinFileOffset: 4 * MiB })).stdout);
    expect(rest).toEqual({ first: String(8 * MiB), port: whole.port });
    const small = ranOn((await e.run(['sh', '-c', 'wc -c; echo $SSH_CONNECTION'], { stdinFile: big, stdinFileOffset: 5 * MiB })).stdout);
    expect(small).toEqual({ first: String(7 * MiB), port: own });
    const off = ssh({ bulk: false });
    const offOwn = await clientPort(off);
    const sent = ranOn((await off.run(['sh', '-c', 'sha256sum; echo $SSH_CONNECTION'], { stdinFile: big })).stdout);
    expect(sent.first.slice(0, 64)).toBe(bigSha);
    expect(sent.port).toBe(offOwn);
    // a sudo user's transfer runs as root there too
    const sudo = ssh({ user: SUDO_USER, hostKey: { fingerprint: fp('ed25519') } });
    expect((await sudo.run(['sh', '-c', 'cat >/dev/null; id -u'], { stdinFile: big })).stdout).toBe('0\n');
  });

  it('fails as the executor\'s own connection does: exit code and output, allowFailure, timeout, abort, a wrong host key', async () => {
    const e = ssh();
    const failing = ['sh', '-c', 'cat >/dev/null; echo out; echo bad >&2; exit 3'];
    const err = await rejection(e.run(failing, { stdinFile: big }));
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).result).toMatchObject({ exitCode: 3, stdout: 'out\n', timedOut: false });
    expect((err as ExecError).result.stderr).toContain('bad');
    expect(err.message).toMatch(/^sshd-test: exit code 3: bad/);
    expect((await e.run(failing, { stdinFile: big, allowFailure: true })).exitCode).toBe(3);
    // a command that never reads its stdin: the timeout stops it, the abort too
    const stuck = ['sh', '-c', 'sleep 40.9'];
    expect(await e.run(stuck, { stdinFile: big, timeoutMs: 500, allowFailure: true })).toMatchObject({ timedOut: true });
    const ac = new AbortController();
    const aborted = e.run(stuck, { stdinFile: big, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    expect(await rejection(aborted)).toBeInstanceOf(ExecAbortedError);
    const other = sshd.fingerprint(`${sshd.strangerKey}.pub`);
    const mismatch = await rejection(ssh({ hostKey: { fingerprint: other } }).run(['cat'], { stdinFile: big }));
    expect(mismatch).toBeInstanceOf(ExecConnectionError);
    expect((mismatch as ExecConnectionError).retryable).toBe(false);
    expect(mismatch.message).toContain('mismatch');
    // and the executor goes on
    expect((await e.run(['sh', '-c', 'wc -c'], { stdinFile: big })).stdout.trim()).toBe(String(12 * MiB));
  });
});
