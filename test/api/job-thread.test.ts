// Where a job runs (issue 13: the event loop only routes): in the job thread, on its own connection to the database.
// A dry-run install posted to the service reaches its end while the event loop is held and cannot run a step of it;
// the loop then hears every event it committed, once, in order. A job thread that dies ends its jobs with an error
// and gives their admission places back.
import Database from 'better-sqlite3';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobThreadExecutions } from '../../src/api/job-host.js';
import { isTerminal, type StoredEvent } from '../../src/api/store.js';
import { silentLogger } from '../../src/api/log.js';
import { harness, specNamed, until, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Holds this thread (its event loop included) for `ms`. */
const hold = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('the job thread', () => {
  it('runs a dry-run install to its end while the event loop is held; the loop then hears each committed event once', async () => {
    h = harness({ seedSecrets: ['held'] });
    const heard: StoredEvent[] = [];
    const r = await h.post('/clusters?dryRun=true', specNamed('held'));
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    h.jobs.subscribe(id, (e) => heard.push(e));
    await until(() => h!.store.get(id)?.status === 'running', 30_000, 'the install running');
    // from here no turn of this event loop runs until the install has ended in the database
    const db = new Database(h.store.file, { readonly: true });
    const status = () => (db.prepare('SELECT status FROM clusters WHERE id = ?').get(id) as { status: string }).status;
    const deadline = Date.now() + 120_000;
    while (!isTerminal(status() as never) && Date.now() < deadline) hold(20);
    expect(status()).toBe('succeeded');
    db.close();
    const stored = h.store.eventsAfter(id, 0);
    expect(stored.filter((e) => e.type === 'step-finished').length).toBeGreaterThan(20);
    // the job's end reaches the loop after its events (they come a turn of the thread at a time, ahead of any other message)
    await h.jobs.idle();
    expect(heard.at(-1)?.seq).toBe(stored.at(-1)!.seq);
    // subscribed once the 202 came: from its first event on, each one once and in order
    expect(heard.map((e) => e.seq)).toEqual(stored.filter((e) => e.seq >= heard[0]!.seq).map((e) => e.seq));
  });

  it('a thread that cannot open the database ends its job with the reason and gives the place back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'job-thread-'));
    mkdirSync(join(dir, 'not-a-database'));
    const executions = new JobThreadExecutions(
      { file: join(dir, 'not-a-database'), sync: 'normal', checkpoints: 'auto', executors: {}, concurrency: 1 },
      { log: silentLogger, stored: () => {} },
    );
    let prepared = 0;
    const run = executions.run({ id: 'x', task: { executor: 'dry-run' }, signal: new AbortController().signal, prepared: () => prepared++ });
    await expect(run).rejects.toThrow(/the job thread failed/);
    expect(prepared).toBe(1);
    await executions.close();
  });
});
