// The real server process (node + tsx running src/cli/main.ts serve): POST an install (dry-run executor with a
// delay per command), follow its events, kill -9 the server in the middle, start it again on the same data
// directory and port, and see the install finish without repeating a finished step — while `airgap-k8s apply
// --server` (another process) follows the whole install across the crash and exits 0.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followEvents } from '../../src/cli/remote.js';
import { FIXTURES, ROOT } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';

const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function cli(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(cond: () => boolean, ms: number, what: string, p?: Proc): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${p ? `\nstderr:\n${p.stderr().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Ev = { seq: number; type: string; stepId?: string; status?: string; reason?: string };

describe('the server process', () => {
  it('kill -9 mid-install, restart: the install resumes from its journal and finishes without repeating finished steps', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'api-proc-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { AIRGAP_K8S_LISTEN: `127.0.0.1:${port}`, AIRGAP_K8S_DATA_DIR: dataDir, AIRGAP_K8S_DRYRUN_DELAY_MS: '15', AIRGAP_K8S_EXECUTOR: 'dry-run', AIRGAP_K8S_TOKEN: '' };
    const timings: Record<string, number> = {};
    const t0 = Date.now();

    // first start: no token configured, so one is generated, stored 0600 and printed once
    const s1 = cli(['serve'], env);
    await waitFor(() => s1.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', s1);
    timings.firstStartMs = Date.now() - t0;
    const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
    expect(statSync(join(dataDir, 'token')).mode & 0o777).toBe(0o600);
    expect(s1.stderr().split(token).length - 1).toBe(1);
    expect(s1.stderr()).toContain('it is shown only now');

    // a client process follows the install from start to end, across the crash
    const client = cli(['apply', join(FIXTURES, 'valid-runbook-ha.yaml'), '--server', url, '--token', token, '--executor', 'dry-run'], {});

    await waitFor(() => /install (\w{26}) of cluster/.test(client.stderr()), 60_000, 'the client to post', client);
    const id = /install (\w{26}) of cluster/.exec(client.stderr())![1]!;
    // the plan is made in the worker pool after the 202: wait until it is stored
    let planResponse = await fetch(`${url}/clusters/${id}/plan`, { headers: { authorization: `Bearer ${token}` } });
    for (const t = Date.now(); planResponse.status !== 200 && Date.now() - t < 30_000; ) {
      await planResponse.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
      planResponse = await fetch(`${url}/clusters/${id}/plan`, { headers: { authorization: `Bearer ${token}` } });
    }
    expect(planResponse.status).toBe(200);
    const plan = (await planResponse.json()) as { phases: { steps: { id: string; readOnly?: boolean }[] }[] };
    const steps = plan.phases.flatMap((p) => p.steps);
    const readOnly = new Set(steps.filter((s) => s.readOnly).map((s) => s.id));

    // our own follower: stop reading after 30 changed steps, then kill -9 at once
    const before: Ev[] = [];
    const stop = new AbortController();
    const tPost = Date.now();
    await followEvents({
      server: url,
      token,
      id,
      signal: stop.signal,
      onEvent: (e) => {
        before.push(e as Ev);
        if (before.filter((x) => x.type === 'step-finished' && !readOnly.has(x.stepId!)).length >= 30) stop.abort();
      },
    });
    s1.child.kill('SIGKILL');
    await s1.exited;
    timings.postToKillMs = Date.now() - tPost;
    const finishedBefore = new Set(before.filter((e) => e.type === 'step-finished').map((e) => e.stepId!));
    expect(before.some((e) => e.type === 'status' && e.status === 'succeeded')).toBe(false);

    // restart on the same data directory and port; the token is not printed again
    const t1 = Date.now();
    const s2 = cli(['serve'], env);
    await waitFor(() => s2.stderr().includes('"msg":"recovered"'), 30_000, 'the server to recover', s2);
    timings.restartToRecoveredMs = Date.now() - t1;
    expect(s2.stderr()).not.toContain(token);

    // replay everything after the last event we saw: what was committed before the kill, then the resumed run
    const after: Ev[] = [];
    const final = await followEvents({ server: url, token, id, onEvent: (e) => after.push(e as Ev) });
    timings.restartToFinishedMs = Date.now() - t1;
    expect(final?.status).toBe('succeeded');
    const all = [...before, ...after.filter((e) => e.seq > before.at(-1)!.seq)];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1)); // no gap, no duplicate
    const resumedAt = all.findIndex((e) => e.type === 'status' && e.reason === 'resumed after a server restart');
    expect(resumedAt).toBeGreaterThan(0);
    const startedAfter = all.slice(resumedAt).filter((e) => e.type === 'step-started').map((e) => e.stepId!);
    const finishedBeforeKill = new Set(all.slice(0, resumedAt).filter((e) => e.type === 'step-finished').map((e) => e.stepId!));
    for (const s of finishedBefore) expect(finishedBeforeKill.has(s)).toBe(true);
    const repeated = startedAfter.filter((s) => finishedBeforeKill.has(s) && !readOnly.has(s));
    expect(repeated).toEqual([]);
    // each of them is skipped instead: by the journal, or (handlers) because nothing they depend on changed since
    const skippedAfter = new Set(all.slice(resumedAt).filter((e) => e.type === 'step-skipped').map((e) => e.stepId!));
    expect([...finishedBeforeKill].filter((s) => !readOnly.has(s) && !skippedAfter.has(s))).toEqual([]);

    const detail = (await (await fetch(`${url}/clusters/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; runs: number; progress: { total: number; done: number; skipped: number } };
    expect(detail).toMatchObject({ status: 'succeeded', runs: 2 });
    expect(detail.progress.done + detail.progress.skipped).toBe(detail.progress.total);

    // the client followed through the crash (reconnecting) and exits with the install's status
    expect(await client.exited).toBe(0);
    expect(client.stderr()).toContain('reconnecting');
    expect(client.stdout()).toContain('-- running: resumed after a server restart');
    expect(client.stdout()).toMatch(/\ndone in [\d.]+s: \d+ changed/);

    // status from another process; then a clean stop
    const st = cli(['status', id, '--server', url, '--token', token], {});
    expect(await st.exited).toBe(0);
    expect(st.stdout()).toContain(`${id}  cluster "gpu-prod"  succeeded`);
    s2.child.kill('SIGTERM');
    expect(await s2.exited).toBe(0);
    expect(s2.stderr()).toContain('"msg":"stopped"');

    console.log(
      `kill -9 test: ${steps.length} steps, ${finishedBeforeKill.size} finished before the kill (${[...finishedBeforeKill].filter((s) => readOnly.has(s)).length} read-only checks, which re-run by design), ` +
        `${startedAfter.length} started after the restart, 0 repeated; first start ${timings.firstStartMs} ms, POST->kill ${timings.postToKillMs} ms, ` +
        `restart->recovered ${timings.restartToRecoveredMs} ms, restart->finished ${timings.restartToFinishedMs} ms`,
    );
  }, 180_000);
});
