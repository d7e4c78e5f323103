// The store's lookups that run on every request use an index, whatever the number of installs kept: every
// POST /clusters looks up the cluster's last successful install (Store.list by name and status).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Store } from '../../src/api/store.js';

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
