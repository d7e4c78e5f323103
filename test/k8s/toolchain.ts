// The real Kubernetes v1.34.3 programs for the `k8s` test tier: scripts/toolchain/build.sh provides them (built once
// into a cache outside the work tree, or taken from AIRGAP_K8S_TOOLCHAIN_DIR) and prints their directory last.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../support/fixtures.js';

export const TOOLCHAIN_SCRIPT = join(ROOT, 'scripts', 'toolchain', 'build.sh');

/** A cold build takes 25-40 min on 2 cores; warm runs take seconds. Use as the beforeAll timeout. */
export const TOOLCHAIN_TIMEOUT_MS = 90 * 60_000;

let pending: Promise<string> | undefined;

/** The directory holding kubeadm, kubectl, kube-apiserver, ..., etcd (and helm when it built). Runs the script once. */
export function toolchainBin(): Promise<string> {
  pending ??= new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [TOOLCHAIN_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // Progress of a cold build is worth seeing; vitest shows it with the test's output.
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`bash ${TOOLCHAIN_SCRIPT} exited ${code}\n${err.split('\n').slice(-30).join('\n')}`));
    });
  });
  return pending;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the command line, paste-able */
  command: string;
}

/** Run a program with a bounded time; never throws on a non-zero exit (the tests assert on it). */
export function run(file: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  const command = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, command });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** klog warning/error lines (W1126 12:00:00.000000 ... / E1126 ...) in a program's stderr. */
export function klogWarnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^[WE]\d{4} /.test(l));
}
