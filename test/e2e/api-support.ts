// Shared by the e2e tests that drive the real REST service: `airgap-k8s serve` as a child process (the real binary
// path, through tsx), a free loopback port, and a bounded follow of a job's event stream.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { followEvents } from '../../src/cli/remote.js';
import { ROOT } from '../support/fixtures.js';

export { freePort } from '../support/ports.js';

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Every server started here, for the test's afterAll to kill. */
export const children: ChildProcessWithoutNullStreams[] = [];

export function serve(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'], { cwd: ROOT, env: { ...process.env, ...env } });
  children.push(child);
  let err = '';
  child.stdout.on('data', () => undefined);
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

export async function until(cond: () => boolean, ms: number, what: string, p?: Proc): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${p ? `\nstderr:\n${p.stderr().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type Ev = { seq: number; type: string; stepId?: string; status?: string; reason?: string; phase?: string; ok?: boolean; changed?: boolean };

/** followEvents with a hard bound: aborted after `ms` (the caller's own signal also stops it) */
export async function follow(o: { url: string; token: string; id: string; ms: number; onEvent: (e: Ev) => void; stop?: AbortController }) {
  const ac = o.stop ?? new AbortController();
  const timer = setTimeout(() => ac.abort(), o.ms);
  try {
    return await followEvents({ server: o.url, token: o.token, id: o.id, signal: ac.signal, giveUpMs: o.ms, onEvent: (e) => o.onEvent(e as Ev) });
  } finally {
    clearTimeout(timer);
  }
}
