// A real OpenSSH sshd for tests: a child process on 127.0.0.1 and a free high port, with its own temp directory
// (config, host keys, authorized_keys, pid file). Nothing outside that directory is touched; stop() removes it.
// Needs scripts/setup-sshd.sh (openssh-server, /run/sshd, the two test users).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';

export const SSHD = '/usr/sbin/sshd';
export const SUDO_USER = 'airgap-k8s-sudo';
export const NOSUDO_USER = 'airgap-k8s-nosudo';

export interface TestSshd {
  port: number;
  dir: string;
  /** host key files (private; .pub beside them) */
  hostKeys: { ed25519: string; ecdsa: string };
  /** authorized client key (for root and the test users) */
  clientKey: string;
  /** a key that is NOT authorized */
  strangerKey: string;
  /** the fingerprint `ssh-keygen -lf` prints for a public key file */
  fingerprint(pubFile: string): string;
  /** sshd's log so far (-e: to stderr) */
  log(): string;
  /** pids of the sshd processes serving the connection from 127.0.0.1:clientPort (via ss) */
  connectionPids(clientPort: number): number[];
  stop(): Promise<void>;
}

function keygen(type: string, file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: run scripts/setup-sshd.sh (npm run test:executors does)`);
  const dir = mkdtempSync(join(tmpdir(), 'airgap-sshd-'));
  // sshd reads authorized_keys as the logging-in user: the directory must be traversable by the test users.
  chmodSync(dir, 0o755);
  const hostKeys = { ed25519: join(dir, 'ssh_host_ed25519_key'), ecdsa: join(dir, 'ssh_host_ecdsa_key') };
  keygen('ed25519', hostKeys.ed25519, 'test-host-ed25519');
  keygen('ecdsa', hostKeys.ecdsa, 'test-host-ecdsa');
  const clientKey = join(dir, 'client_key');
  const strangerKey = join(dir, 'stranger_key');
  keygen('ed25519', clientKey, 'airgap-k8s-test-client');
  keygen('ed25519', strangerKey, 'airgap-k8s-test-stranger');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  chmodSync(authorized, 0o644);

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKeys.ed25519}`,
        `HostKey ${hostKeys.ecdsa}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'MaxSessions 10',
        'PrintMotd no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (c: Buffer) => (log += c.toString('utf8')));
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      const check = () => {
        if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
          clearTimeout(t);
          resolve(true);
        }
      };
      proc.stderr!.on('data', check);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (!ready) {
      lastError = new Error(`sshd did not start on port ${port}:\n${log}`);
      await kill(proc);
      continue;
    }
    return {
      port,
      dir,
      hostKeys,
      clientKey,
      strangerKey,
      fingerprint: (pubFile) => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!,
      log: () => log,
      connectionPids: (clientPort) => {
        const out = execFileSync('ss', ['-tnpH', `( sport = :${port} and dport = :${clientPort} )`], { encoding: 'utf8' });
        return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      },
      stop: async () => {
        await kill(proc);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('sshd did not start');
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, 3000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
