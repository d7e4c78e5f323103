// The store's lookups that run on every request use an index, whatever the number of installs kept: every
// POST /clusters looks up the cluster's last successful install (Store.list by name and status). The loop's writes
// on the request path wait for another connection's write lock by polling (writeNow), not SQLite's coarse sleeps.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, Store, writeNow } from '../../src/api/store.js';

it("a cluster's installs, newest first, are searched by index, not scanned", () => {
  const store = new Store(join(mkdtempSync(join(tmpdir(), 'store-')), 'airgap-k8s.db'));
  try {
    // the statement Store.list runs for { name, status, limit }
    const plan = store.db
      .prepare('EXPLAIN QUERY PLAN SELECT * FROM clusters WHERE name = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT ?')
      .all('gpu-prod', 'succeeded', 100) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('; ')).toMatch(/SEARCH clusters USING INDEX clusters_by_name \(name=\?\)/);
  } finally {
    store.close();
  }
});

it("writeNow: a write waits while another connection (a thread's) holds the write lock, then lands; SQLite's busy_timeout is back after; other errors are not retried", async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'store-')), 'airgap-k8s.db');
  const store = new Store(file);
  store.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  // a thread with a connection of its own takes the write lock and keeps it 300 ms
  const holder = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const db = new (require(workerData.sqlite))(workerData.file);
     db.pragma('busy_timeout = 0');
     db.exec('BEGIN IMMEDIATE');
     db.exec("INSERT INTO t (v) VALUES ('holder')");
     parentPort.postMessage('locked');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
     db.exec('COMMIT');
     db.close();
     parentPort.postMessage('released');`,
    { eval: true, workerData: { file, sqlite: createRequire(import.meta.url).resolve('better-sqlite3') } },
  );
  try {
    const released = new Promise((r) => holder.on('message', (m) => m === 'released' && r(m)));
    await new Promise((r) => holder.once('message', r));
    const insert = store.db.prepare("INSERT INTO t (v) VALUES ('loop')");
    // without the wait it fails at once
    store.db.pragma('busy_timeout = 0');
    expect(() => insert.run()).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    store.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    writeNow(store.db, () => insert.run());
    await released;
    expect((store.db.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v)).toEqual(['holder', 'loop']);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
    let tries = 0;
    expect(() =>
      writeNow(store.db, () => {
        tries++;
        store.db.exec("INSERT INTO t (id, v) VALUES (1, 'again')");
      }),
    ).toThrow(/UNIQUE constraint failed/);
    expect(tries).toBe(1);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
  } finally {
    await holder.terminate();
    store.close();
  }
});
