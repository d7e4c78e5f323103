// The service's worker pool (src/api/pool.ts): what a thread prepares is what this thread would, byte for byte (the
// results cross by structured clone); a task's error arrives as its message and the thread goes on; short work
// someone waits on goes before long work; idle threads do not keep a process from ending.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkPool, workPool } from '../../src/api/pool.js';
import { BACKGROUND_NICE } from '../../src/api/priority.js';
import { checkSpecBody, prepareJob, type PrepareTask } from '../../src/api/work.js';
import { outputPath } from '../../src/generators/index.js';
import { parseSecrets } from '../../src/secrets/secrets.js';
import { FIXTURES } from '../support/fixtures.js';
import { HA_TEXT } from './harness.js';
import { bigClusterSpec } from '../../bench/scale.js';

const pools: WorkPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function haTask(): PrepareTask {
  const checked = checkSpecBody({ text: HA_TEXT, json: false });
  if (!checked.ok) throw new Error(checked.message);
  const secrets = parseSecrets(readFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), 'utf8'));
  if (!secrets.ok) throw new Error('test secrets');
  return { spec: checked.spec, secrets: secrets.secrets, executor: 'dry-run' };
}

describe('the worker pool', () => {
  it('prepares a job exactly as this thread does: every file byte for byte, the plan, the stored plan', async () => {
    const task = haTask();
    const [there, here] = [await workPool().run('prepareJob', task), await prepareJob(task)];
    expect(there.prepared.files.map((f) => [outputPath(f), f.mode, f.secret, f.content])).toEqual(here.prepared.files.map((f) => [outputPath(f), f.mode, f.secret, f.content]));
    expect(there.prepared.files.length).toBeGreaterThan(20);
    expect(there.prepared.plan).toEqual(here.prepared.plan);
    expect(there.planJson).toBe(here.planJson);
    // the view keeps its shared references (structured clone keeps identity within one message)
    expect(there.prepared.view.hosts).toContain(there.prepared.view.firstControlPlane);
    // the stored plan masks every secret
    expect(there.planJson).not.toContain(task.secrets!.bootstrapToken);
  });

  it('a task that fails answers with its message (a secrets file that does not fit, every issue named); the thread goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-'));
    const file = join(dir, 'gpu-prod.secrets.yaml');
    copyFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), file);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^(bootstrapToken:\s*).*$/m, '$1not-a-token'));
    const { secrets: _s, ...task } = haTask();
    const err = await workPool().run('prepareJob', { ...task, secretsFile: file }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^the cluster's secrets file cannot be used: bootstrapToken: /);
    expect(err?.message).not.toContain('not-a-token');
    expect((await workPool().run('checkSpecBody', { text: HA_TEXT, json: false })).ok).toBe(true);
  });

  it('high priority first: without a quick thread, a validation waits for the task a thread is on, not for the queued renders', async () => {
    const pool = new WorkPool(1, 0);
    pools.push(pool);
    const order: string[] = [];
    const task = haTask();
    const done = [
      ...['render 1', 'render 2', 'render 3'].map((n) => pool.run('prepareJob', task).then(() => order.push(n))),
      pool.run('checkSpecBody', { text: HA_TEXT, json: false }, 'high').then(() => order.push('validation')),
    ];
    await Promise.all(done);
    expect(order).toEqual(['render 1', 'validation', 'render 2', 'render 3']);
  });

  it('a quick thread: a validation does not wait for the render a thread is in the middle of', async () => {
    const pool = new WorkPool(1, 1);
    pools.push(pool);
    // both threads loaded first (a high task takes the idle quick thread, a normal one the other)
    await Promise.all([pool.run('checkSpecBody', { text: HA_TEXT, json: false }, 'high'), pool.run('prepareJob', haTask())]);
    const order: string[] = [];
    // a 300-host job: a render and plan of a few hundred ms, against a validation of a few
    const big = { ...haTask(), spec: bigClusterSpec(300) };
    const done = [
      ...['render 1', 'render 2'].map((n) => pool.run('prepareJob', big).then(() => order.push(n))),
      pool.run('checkSpecBody', { text: HA_TEXT, json: false }, 'high').then(() => order.push('validation')),
    ];
    await Promise.all(done);
    expect(order).toEqual(['validation', 'render 1', 'render 2']);
  });

  it('with a quick thread, validations wait for it rather than go to a normal thread (nice 10, maybe held by a checkpoint)', async () => {
    const pool = new WorkPool(1, 1);
    pools.push(pool);
    const checks = await Promise.all(Array.from({ length: 4 }, () => pool.run('checkSpecBody', { text: HA_TEXT, json: false }, 'high')));
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(pool.started).toEqual({ quick: 1, normal: 0 });
    await pool.run('prepareJob', haTask());
    expect(pool.started).toEqual({ quick: 1, normal: 1 });
  });

  it.runIf(process.platform === 'linux')('the threads that render run at nice 10, below the event loop; the quick thread does not', async () => {
    // the nice value of every thread of this process (field 19 of /proc/self/task/<tid>/stat, after the command name)
    const nices = () =>
      readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16]));
    const niced = () => nices().filter((n) => n === BACKGROUND_NICE).length;
    const before = niced();
    const pool = new WorkPool(2, 1);
    pools.push(pool);
    // three threads loaded: two take the renders, the quick one the validation
    await Promise.all([pool.run('checkSpecBody', { text: HA_TEXT, json: false }, 'high'), pool.run('prepareJob', haTask()), pool.run('prepareJob', haTask())]);
    expect(niced() - before).toBe(2);
    expect(nices()[0]).toBe(0); // the main thread (the first task) is left as it was
  });

  it.runIf(process.platform === 'linux')('lowerOtherThreads (serve, first thing) lowers the helper threads the process has then (V8, libuv), not the caller; a thread started after keeps nice 0', async () => {
    const priority = new URL('../../src/api/priority.ts', import.meta.url).href;
    const script = [
      `const { lowerOtherThreads } = await import(${JSON.stringify(priority)});`,
      `const { readdirSync, readFileSync } = await import('node:fs');`,
      `const { Worker } = await import('node:worker_threads');`,
      `const nice = (tid) => { const s = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(') ') + 2).split(' ')[16]); };`,
      `const lowered = lowerOtherThreads();`,
      `const tids = readdirSync('/proc/self/task');`,
      `const main = nice(process.pid); const others = tids.filter((t) => Number(t) !== process.pid).map(nice);`,
      // a thread started afterwards (as the job thread is): its thread id, its nice value read while it waits
      `const w = new Worker("const { parentPort } = await import('node:worker_threads'); const { readlinkSync } = await import('node:fs'); parentPort.postMessage(readlinkSync('/proc/thread-self').split('/').pop()); setTimeout(() => {}, 60000);", { eval: true });`,
      `const worker = nice(await new Promise((r) => w.once('message', r))); await w.terminate();`,
      `console.log(JSON.stringify({ lowered, threads: tids.length, main, others, worker }));`,
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
    );
    const r = JSON.parse(out) as { lowered: number; threads: number; main: number; others: number[]; worker: number };
    expect(r.lowered).toBe(r.threads - 1);
    expect(r.lowered).toBeGreaterThanOrEqual(4); // V8's four platform threads at least
    expect(r.others.every((n) => n === BACKGROUND_NICE)).toBe(true);
    expect(r.main).toBe(0);
    expect(r.worker).toBe(0);
  });

  it('idle threads do not hold the process open: a process that used the pool ends by itself', async () => {
    const pool = new URL('../../src/api/pool.ts', import.meta.url).href;
    const script = `const { workPool } = await import(${JSON.stringify(pool)}); const p = workPool(); p.warm(); const r = await p.run('checkSpecBody', { text: 'x: 1', json: false }, 'high'); console.log('answered', r.ok);`;
    // without an end of its own this would hang until the test's timeout
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
    );
    expect(out).toBe('answered false\n');
  });
});
