// The admission queue as a client and an operator see it (issue 13): a POST is answered 202 once its record is
// committed and the job then waits its turn as `pending`; when every place is held the answer is 429 busy with
// Retry-After before the body is even read; a cancel ends a waiting job before it starts; and no accepted job is
// lost: jobs still waiting when the service stops are picked up by the next one and finish. The test holds the only
// active place itself (jobs.reserve + acquire), so what waits and what runs does not depend on timing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/api/store.js';
import { HA_TEXT, harness, specNamed, until, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function accepted(res: Response): Promise<string> {
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** The records as another connection to the database sees them: what is committed. */
function committed(dir: string): { id: string; status: string; plan: boolean }[] {
  const other = new Store(join(dir, 'airgap-k8s.db'));
  try {
    return other.list({ limit: 100 }).map((r) => ({ id: r.id, status: r.status, plan: other.plan(r.id) !== null }));
  } finally {
    other.close();
  }
}

describe('the admission queue', () => {
  it('202 once the record is committed; the job waits as pending without a plan; a cancel ends it before it starts', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other'], admission: { active: 1, queued: 4, retryAfterSeconds: 3 } });
    const blocker = h.jobs.reserve();
    await blocker.acquire(); // the only active place
    const a = await accepted(await h.post('/clusters?dryRun=true', HA_TEXT));
    const b = await accepted(await h.post('/clusters?dryRun=true', specNamed('other')));
    await new Promise((r) => setTimeout(r, 100));
    expect(committed(h.dir).sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: a, status: 'pending', plan: false }, { id: b, status: 'pending', plan: false }].sort((x, y) => x.id.localeCompare(y.id)));
    expect((await h.req(`/clusters/${a}/plan`)).status).toBe(409);

    expect((await h.req(`/clusters/${a}/cancel`, { method: 'POST' })).status).toBe(202);
    await until(() => h!.store.get(a)!.status === 'cancelled', 20_000, 'the waiting job cancelled');
    expect(h.store.eventsAfter(a, 0).map((e) => (e.type === 'status' ? `${e.status}: ${e.reason ?? ''}` : e.type))).toEqual(['cancelled: cancelled before it started']);
    expect(h.store.plan(a)).toBeNull();

    blocker.release();
    await h.jobs.idle();
    expect(h.store.get(b)!.status).toBe('succeeded');
    expect(h.store.get(a)!.status).toBe('cancelled');
  });

  it('429 busy with Retry-After when every place is held, before the body is read; places come back as starts end', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other', 'third'], admission: { active: 1, queued: 1, retryAfterSeconds: 3 } });
    const blocker = h.jobs.reserve();
    await blocker.acquire();
    const a = await accepted(await h.post('/clusters?dryRun=true', HA_TEXT)); // the one waiting place
    for (const body of [specNamed('other'), 'not: [a spec']) {
      const r = await h.post('/clusters?dryRun=true', body);
      expect([r.status, r.headers.get('retry-after'), ((await r.json()) as { error: { code: string } }).error.code]).toEqual([429, '3', 'busy']);
    }
    expect(h.store.list({ limit: 100 }).map((r) => r.id)).toEqual([a]);

    blocker.release();
    await h.jobs.idle();
    expect(h.store.get(a)!.status).toBe('succeeded');
    // both places are free again: two more are accepted at once (one starts, one waits) and both finish
    const more = [await accepted(await h.post('/clusters?dryRun=true', specNamed('other'))), await accepted(await h.post('/clusters?dryRun=true', specNamed('third')))];
    await h.jobs.idle();
    expect(more.map((id) => h!.store.get(id)!.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('no accepted job is lost: jobs still waiting when the service stops start with the next one and finish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-queue-'));
    const names = ['q0', 'q1', 'q2', 'q3', 'q4'];
    h = harness({ dir, seedSecrets: names, admission: { active: 1, queued: 10, retryAfterSeconds: 2 } });
    const blocker = h.jobs.reserve();
    await blocker.acquire();
    const ids: string[] = [];
    for (const n of names) ids.push(await accepted(await h.post('/clusters?dryRun=true', specNamed(n))));
    await h.close(); // stops with every job still waiting for its turn
    h = undefined;
    expect(committed(dir).map((r) => r.status)).toEqual(names.map(() => 'pending'));

    h = harness({ dir, admission: { active: 1, queued: 10, retryAfterSeconds: 2 } });
    expect(await h.jobs.recover()).toBe(names.length);
    await h.jobs.idle();
    expect(ids.map((id) => [id, h!.store.get(id)!.status])).toEqual(ids.map((id) => [id, 'succeeded']));
    // picked up after a restart, as such
    for (const id of ids) {
      const events = h.store.eventsAfter(id, 0).flatMap((e) => (e.type === 'status' ? [e.reason] : []));
      expect(events).toContain('resumed after a server restart');
    }
  });
});
