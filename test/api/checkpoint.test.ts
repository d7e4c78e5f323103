// The service's database (issue 13): a commit never checkpoints the WAL into the database file (SQLite's default
// does, with an fsync, inside whichever commit crosses 1000 pages: 100-200 ms on a busy disk, on the event loop); the
// jobs do it in their worker pool. Seen from the file sizes: the database file stays as it was however much is
// committed, until the pool's checkpoint copies everything into it.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Jobs } from '../../src/api/jobs.js';
import { silentLogger } from '../../src/api/log.js';
import { newId, Store } from '../../src/api/store.js';

let store: Store | undefined;
let jobs: Jobs | undefined;
afterEach(async () => {
  await jobs?.shutdown();
  store?.close();
});

describe('WAL checkpoints', () => {
  it('commits leave the database file alone; the worker pool checkpoints it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-wal-'));
    const file = join(dir, 'airgap-k8s.db');
    store = new Store(file, { checkpoints: 'caller' });
    jobs = new Jobs({ store, log: silentLogger, secretsDir: join(dir, 'secrets'), executors: {}, concurrency: 1 });
    const size = statSync(file).size;
    const rec = store.insertCluster({ id: newId(), name: 'wal', executor: 'dry-run', specInput: {}, warnings: [], createdBy: null, confirmed: false });
    for (let i = 0; i < 3000; i++) store.append(rec.id, { type: 'status', status: 'running', reason: `reason ${i} ${'x'.repeat(200)}` });
    expect(store.walBytes()).toBeGreaterThan(4 * 1024 * 1024); // past SQLite's own checkpoint mark
    expect(statSync(file).size).toBe(size);

    const r = (await jobs.checkpointNow()) as { log: number; checkpointed: number };
    expect(r.log).toBeGreaterThan(1000);
    expect(r.checkpointed).toBe(r.log);
    expect(statSync(file).size).toBeGreaterThan(size);
    expect(store.eventsAfter(rec.id, 0)).toHaveLength(3000);
  });
});
