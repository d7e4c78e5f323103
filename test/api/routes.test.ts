// The REST routes through app.request(): create, follow, inspect, cancel, resume, delete, stateless render/validate,
// health and the generated OpenAPI document.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { HA_TEXT, harness, parseSse, specNamed, until, type Harness } from './harness.js';
import { EventSchema } from '../../src/api/schemas.js';
import { loadFixture, renderInputsOnlyBundle } from '../support/fixtures.js';
import { deriveView } from '../../src/spec/derive.js';
import Database from 'better-sqlite3';
import { Store } from '../../src/api/store.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function created(res: Response): Promise<string> {
  expect(res.status).toBe(202);
  const body = (await res.json()) as { id: string; location: string };
  expect(res.headers.get('location')).toBe(`/clusters/${body.id}`);
  expect(body.location).toBe(`/clusters/${body.id}`);
  return body.id;
}

describe('POST /clusters', () => {
  it('accepts YAML with ?dryRun=true, answers 202 + Location, and the install succeeds', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    const events = parseSse(await (await h.req(`/clusters/${id}/events`)).text());
    expect(events.at(-1)!.data).toMatchObject({ type: 'status', status: 'succeeded' });
    expect(events.map((e) => e.data.seq)).toEqual(events.map((_, i) => i + 1));
    const detail = (await (await h.req(`/clusters/${id}`)).json()) as {
      status: string;
      executor: string;
      phase: string;
      progress: Record<string, number>;
      steps: { id: string; kind: string; state: string; reason: string | null; startedAt: string | null; finishedAt: string | null; durationMs: number | null }[];
      summary: { changed: number };
      runs: number;
    };
    expect(detail).toMatchObject({ status: 'succeeded', executor: 'dry-run', phase: 'verify', runs: 1 });
    expect(detail.progress.pending).toBe(0);
    expect(detail.progress.failed).toBe(0);
    expect(detail.progress.total).toBe(detail.steps.length);
    expect(detail.summary.changed).toBeGreaterThan(50);
    // no bundle on this machine: the steps that read it are skipped (reason no-bundle), every other one ran
    for (const s of detail.steps) {
      const readsBundle = s.kind === 'verify-bundle' || s.kind === 'upload' || s.id === 'cni/cluster/apply/10-calico';
      expect([s.id, s.state, s.reason]).toEqual([s.id, readsBundle ? 'skipped' : 'done', readsBundle ? 'no-bundle' : null]);
      if (!readsBundle) expect(s.startedAt && s.finishedAt && s.durationMs !== null).toBeTruthy();
    }
  });

  it('accepts JSON too, and the stored spec is the document without comments', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const doc = yaml.load(HA_TEXT);
    const id = await created(await h.post('/clusters?executor=dry-run', JSON.stringify(doc), 'application/json; charset=utf-8'));
    expect(h.store.spec(id)).toEqual(doc);
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
  });

  it('uses the server default executor without a query, and rejects contradicting ones', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], defaultExecutor: 'dry-run' });
    const id = await created(await h.post('/clusters', HA_TEXT));
    expect(h.store.get(id)!.executor).toBe('dry-run');
    await h.jobs.idle();
    const bad = await h.post('/clusters?dryRun=true&executor=ssh', HA_TEXT);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect((await h.post('/clusters?executor=local', HA_TEXT)).status).toBe(400);
  });

  it('refuses a second install of the same cluster while one runs (409), runs different clusters side by side', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other'], delayMs: 5 });
    const a = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    const again = await h.post('/clusters?dryRun=true', HA_TEXT);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'conflict' });
    const b = await created(await h.post('/clusters?dryRun=true', specNamed('other')));
    await until(() => h.store.get(a)!.status === 'running' && h.store.get(b)!.status === 'running' && h.store.stepStates(a).length > 3 && h.store.stepStates(b).length > 3, 20_000, 'both running');
    expect(h.jobs.isRunning(a) && h.jobs.isRunning(b)).toBe(true);
    await h.jobs.idle();
    expect([h.store.get(a)!.status, h.store.get(b)!.status]).toEqual(['succeeded', 'succeeded']);
    // once finished, the same cluster can be installed again
    await created(await h.post('/clusters?dryRun=true', HA_TEXT));
  });

  it('makes the cluster\'s secrets file (0600) when there is none: after the 202, as the job starts', async () => {
    h = harness();
    const id = await created(await h.post('/clusters?dryRun=true', specNamed('fresh')));
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
    const { statSync } = await import('node:fs');
    expect(statSync(`${h.secretsDir}/fresh.secrets.yaml`).mode & 0o777).toBe(0o600);
  }, 30_000);
});

describe('GET /clusters, /clusters/{id}, /plan, /files', () => {
  it('lists newest first with filters', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other'] });
    const a = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const b = await created(await h.post('/clusters?dryRun=true', specNamed('other')));
    await h.jobs.idle();
    const list = (await (await h.req('/clusters')).json()) as { items: { id: string; name: string; links: { events: string } }[] };
    expect(list.items.map((i) => i.id)).toEqual([b, a]);
    expect(list.items[0]!.links.events).toBe(`/clusters/${b}/events`);
    const only = (await (await h.req('/clusters?name=gpu-prod&status=succeeded&limit=5')).json()) as { items: { id: string }[] };
    expect(only.items.map((i) => i.id)).toEqual([a]);
    expect((await h.req('/clusters?limit=0')).status).toBe(400);
    expect((await h.req('/clusters?status=bogus')).status).toBe(400);
  });

  it('names who started each install: the token\'s name, never the token; an older database gains the column', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other'] });
    const ops = h.access.createToken('ops-desk', 'operator');
    const a = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    const b = await created(await h.app.request('/clusters?dryRun=true', { method: 'POST', body: specNamed('other'), headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/yaml' } }));
    await h.jobs.idle();
    const list = (await (await h.req('/clusters')).json()) as { items: { id: string; createdBy: string | null }[] };
    expect(list.items.map((i) => [i.id, i.createdBy])).toEqual([
      [b, 'ops-desk'],
      [a, 'admin'],
    ]);
    expect(JSON.stringify(list)).not.toContain(ops);
    // a database from before: the column is added, old rows say null
    const dir = mkdtempSync(join(tmpdir(), 'api-old-'));
    const old = new Database(join(dir, 'old.db'));
    old.exec('CREATE TABLE clusters (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, phase TEXT, executor TEXT NOT NULL, warnings TEXT NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0, error TEXT, summary TEXT, runs INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, last_seq INTEGER NOT NULL DEFAULT 0, journal_seq INTEGER NOT NULL DEFAULT 0)');
    old.exec(`INSERT INTO clusters (id, name, status, executor, warnings, created_at, updated_at) VALUES ('o1', 'o1', 'succeeded', 'dry-run', '[]', 't', 't')`);
    old.close();
    const s = new Store(join(dir, 'old.db'));
    expect(s.get('o1')!.createdBy).toBeNull();
    s.close();
  });

  it('404 for an unknown id, with the error shape', async () => {
    h = harness();
    for (const p of ['/clusters/nope', '/clusters/nope/plan', '/clusters/nope/files', '/clusters/nope/events']) {
      const r = await h.req(p);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    for (const p of ['/clusters/nope/cancel', '/clusters/nope/resume']) expect((await h.req(p, { method: 'POST' })).status).toBe(404);
    expect((await h.req('/clusters/nope', { method: 'DELETE' })).status).toBe(404);
  });

  it('serves the plan: phases of steps, files by sha256, no contents', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    // the plan is made in the background right after the answer
    const early = await h.req(`/clusters/${id}/plan`);
    if (early.status !== 200) expect(await early.json()).toMatchObject({ error: { code: 'not_ready' } });
    await until(() => h.store.plan(id) !== null, 20_000, 'the plan');
    const plan = (await (await h.req(`/clusters/${id}/plan`)).json()) as { cluster: string; phases: { name: string; steps: Record<string, unknown>[] }[] };
    expect(plan.cluster).toBe('gpu-prod');
    expect(plan.phases[0]!.name).toBe('preflight');
    const write = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'write-file')!;
    expect(write.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(write).not.toHaveProperty('content');
    await h.jobs.idle();
  });

  it('serves the rendered files as a deterministic tar.gz without secret files', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const r1 = await h.req(`/clusters/${id}/files`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toBe('application/gzip');
    expect(r1.headers.get('content-disposition')).toBe(`attachment; filename="gpu-prod-${id}.tar.gz"`);
    expect(Number(r1.headers.get('x-secret-files-excluded'))).toBeGreaterThan(0);
    const a = Buffer.from(await r1.arrayBuffer());
    const b = Buffer.from(await (await h.req(`/clusters/${id}/files`)).arrayBuffer());
    expect(a.equals(b)).toBe(true);
    const { gunzipSync } = await import('node:zlib');
    const { listTar } = await import('./tar-read.js');
    const entries = listTar(gunzipSync(a));
    expect(entries.map((e) => e.path)).toContain('gpu-prod/hosts/master1/etc/haproxy/haproxy.cfg');
    expect(entries.every((e) => e.mode !== 0o600)).toBe(true);
  });

  it('a read never writes: a secrets file that lacks what the spec needs is a 409 naming it, and stays as it was', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const file = join(h.secretsDir, 'gpu-prod.secrets.yaml');
    const without = readFileSync(file, 'utf8').replace(/^ {2}grafana: .*\n/m, '');
    expect(without).not.toMatch(/grafana:/);
    writeFileSync(file, without, { mode: 0o600 });
    const before = statSync(file);
    const r = await h.req(`/clusters/${id}/files`);
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: { code: string; issues: { path: string; code: string }[] } };
    expect(body.error.code).toBe('invalid_secrets');
    expect(body.error.issues).toContainEqual(expect.objectContaining({ path: 'passwords.grafana', code: 'missing' }));
    expect(readFileSync(file, 'utf8')).toBe(without);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  });
});

describe('GET /clusters/{id}/events', () => {
  it('replays from Last-Event-ID and from ?after=, then ends after the final status', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const all = parseSse(await (await h.req(`/clusters/${id}/events`)).text());
    expect(all[0]!.data.type).toBe('status');
    expect(all[1]!.data.type).toBe('run-started');
    const tail = parseSse(await (await h.req(`/clusters/${id}/events`, { headers: { 'last-event-id': '10' } })).text());
    expect(tail.map((e) => e.data.seq)).toEqual(all.filter((e) => e.data.seq > 10).map((e) => e.data.seq));
    expect(tail[0]!.id).toBe('11');
    expect(tail[0]!.event).toBe(tail[0]!.data.type);
    const after = parseSse(await (await h.req(`/clusters/${id}/events?after=${all.length - 1}`)).text());
    expect(after).toHaveLength(1);
    expect((await h.req(`/clusters/${id}/events`, { headers: { 'last-event-id': 'x' } })).status).toBe(400);
  });

  it('every event, streamed or listed as JSON (Accept: application/json), is valid against the OpenAPI document\'s Event schema', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const sse = parseSse(await (await h.req(`/clusters/${id}/events`)).text());
    const res = await h.req(`/clusters/${id}/events`, { headers: { accept: 'application/json' } });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const list = (await res.json()) as { events: { seq: number; type: string }[]; done: boolean };
    expect(list.done).toBe(true);
    expect(list.events).toEqual(sse.map((e) => e.data));
    for (const e of sse) expect(e.event).toBe(e.data.type);
    // the Event schema as the document publishes it: every type seen has its own branch, and each event matches it
    const doc = (await (await h.req('/openapi.json')).json()) as { components: { schemas: Record<string, { oneOf?: { properties: { type: { const?: string; enum?: string[] } } }[] }> } };
    const branches = doc.components.schemas.Event!.oneOf!.map((b) => b.properties.type.const ?? b.properties.type.enum?.[0]);
    expect(new Set(sse.map((e) => e.data.type)).size).toBeGreaterThanOrEqual(7);
    for (const t of new Set(sse.map((e) => e.data.type))) expect(branches).toContain(t);
    for (const e of list.events) expect(EventSchema.safeParse(e).success, JSON.stringify(e)).toBe(true);
    // paging: after the last seq there is nothing more, and it is done
    const rest = (await (await h.req(`/clusters/${id}/events?after=${list.events.at(-1)!.seq}`, { headers: { accept: 'application/json' } })).json()) as { events: unknown[]; done: boolean };
    expect(rest).toEqual({ events: [], done: true });
  });

  it('streams live events of a running install with heartbeats, then closes', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], delayMs: 3 });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    const res = await h.req(`/clusters/${id}/events`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text(); // ends only when the install has finished
    expect(text).toContain(': keep-alive');
    const events = parseSse(text);
    expect(events.at(-1)!.data).toMatchObject({ type: 'status', status: 'succeeded' });
    expect(events.filter((e) => e.data.type === 'step-finished').length).toBeGreaterThan(50);
  });
});

describe('cancel, resume, delete', () => {
  it('cancels a running install; resume finishes it without repeating finished steps; delete removes the record', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], delayMs: 5 });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await until(() => h.store.stepStates(id).filter((s) => s.state === 'done').length >= 20, 20_000, '20 steps done');
    expect((await h.req(`/clusters/${id}`, { method: 'DELETE' })).status).toBe(409);
    const c = await h.req(`/clusters/${id}/cancel`, { method: 'POST' });
    expect(c.status).toBe(202);
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('cancelled');
    expect((await h.req(`/clusters/${id}/cancel`, { method: 'POST' })).status).toBe(409);
    // the steps in flight when the cancel came were cut short: interrupted, not failed
    const cancelled = (await (await h.req(`/clusters/${id}`)).json()) as { progress: Record<string, number>; steps: { id: string; state: string }[] };
    const interrupted = cancelled.steps.filter((s) => s.state === 'interrupted').map((s) => s.id);
    expect(interrupted.length).toBeGreaterThan(0);
    expect(cancelled.progress).toMatchObject({ failed: 0, interrupted: interrupted.length });
    expect(cancelled.steps.filter((s) => s.state === 'failed')).toEqual([]);
    const before = parseSse(await (await h.req(`/clusters/${id}/events`)).text());
    const failedEvents = before.filter((e) => e.data.type === 'step-failed');
    expect(failedEvents.every((e) => e.data.interrupted === true && EventSchema.safeParse(e.data).success)).toBe(true);
    expect(failedEvents.map((e) => e.data.stepId as string).sort()).toEqual([...interrupted].sort());
    const plan = (await (await h.req(`/clusters/${id}/plan`)).json()) as { phases: { steps: { id: string; readOnly?: boolean }[] }[] };
    const readOnly = new Set(plan.phases.flatMap((p) => p.steps).filter((s) => s.readOnly).map((s) => s.id));
    const finished = new Set(before.filter((e) => e.data.type === 'step-finished').map((e) => e.data.stepId as string));

    const r = await h.req(`/clusters/${id}/resume`, { method: 'POST' });
    expect(r.status).toBe(202);
    await h.jobs.idle();
    const detail = (await (await h.req(`/clusters/${id}`)).json()) as { status: string; runs: number; progress: Record<string, number> };
    expect(detail).toMatchObject({ status: 'succeeded', runs: 2, progress: { interrupted: 0, failed: 0, pending: 0 } });
    const after = parseSse(await (await h.req(`/clusters/${id}/events`, { headers: { 'last-event-id': String(before.at(-1)!.data.seq) } })).text());
    const restarted = after.filter((e) => e.data.type === 'step-started').map((e) => e.data.stepId as string);
    expect(restarted.filter((s) => finished.has(s) && !readOnly.has(s))).toEqual([]);
    // the interrupted ones ran again (the journal kept them failed, so nothing passed over them)
    expect(interrupted.filter((s) => !restarted.includes(s))).toEqual([]);
    expect(after.some((e) => e.data.type === 'step-skipped' && e.data.reason === 'journal')).toBe(true);
    expect(after[0]!.data).toMatchObject({ type: 'status', status: 'running', reason: 'resumed by request' });

    expect((await h.req(`/clusters/${id}/resume`, { method: 'POST' })).status).toBe(409); // succeeded
    expect((await h.req(`/clusters/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await h.req(`/clusters/${id}`)).status).toBe(404);
    expect(h.store.eventsAfter(id, 0)).toEqual([]);
    expect(h.store.journal(id).all()).toEqual({});
  });

  it('resume is refused while another install of the same cluster runs', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], delayMs: 5 });
    const a = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.req(`/clusters/${a}/cancel`, { method: 'POST' });
    await h.jobs.idle();
    const b = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    const r = await h.req(`/clusters/${a}/resume`, { method: 'POST' });
    expect(r.status).toBe(409);
    expect(await r.json()).toMatchObject({ error: { code: 'conflict' } });
    await h.req(`/clusters/${b}/cancel`, { method: 'POST' });
    await h.jobs.idle();
  });
});

describe('stateless: /validate and /render', () => {
  it('validate answers 200 with warnings for a valid spec and stores nothing', async () => {
    h = harness();
    const r = await h.post('/validate', HA_TEXT);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { ok: boolean; cluster: string; hosts: number; warnings: unknown[] };
    expect(body).toMatchObject({ ok: true, cluster: 'gpu-prod', hosts: 4 });
    expect(body.warnings.length).toBeGreaterThan(0);
    expect(h.store.list({ limit: 10 })).toEqual([]);
  });

  it('render lists every file; secret files without content', async () => {
    h = harness();
    const r = await h.post('/render', HA_TEXT);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { files: { path: string; secret: boolean; content: string | null; sha256: string | null }[] };
    const haproxy = body.files.find((f) => f.path === 'hosts/master1/etc/haproxy/haproxy.cfg')!;
    expect(haproxy.content).toContain('frontend');
    const secrets = body.files.filter((f) => f.secret);
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.every((f) => f.content === null && f.sha256 === null)).toBe(true);
    expect(h.store.list({ limit: 10 })).toEqual([]);
  }, 30_000);
});

describe('health, OpenAPI, docs', () => {
  it('/healthz needs no token; /readyz does and reports readiness', async () => {
    h = harness();
    expect((await h.app.request('/healthz')).status).toBe(200);
    expect(await (await h.req('/readyz')).json()).toMatchObject({ ready: true });
    h.jobs.recovered = false;
    expect((await h.req('/readyz')).status).toBe(503);
  });

  it('/openapi.json describes every route, the spec schema and the error shape', async () => {
    h = harness();
    const doc = (await (await h.req('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/audit', '/clusters', '/clusters/{id}', '/clusters/{id}/cancel', '/clusters/{id}/events', '/clusters/{id}/files', '/clusters/{id}/plan', '/clusters/{id}/resume', '/clusters/{id}/snapshot', '/healthz', '/operations', '/readyz', '/render', '/validate'].sort(),
    );
    expect(Object.keys(doc.paths['/clusters/{id}']!).sort()).toEqual(['delete', 'get']);
    expect(doc.components.schemas).toHaveProperty('Cluster');
    expect(doc.components.schemas).toHaveProperty('Error');
    expect(JSON.stringify(doc.paths['/clusters']!.post)).toContain('#/components/schemas/Cluster');
    expect(JSON.stringify(doc.paths['/clusters']!.post)).toContain('"422"');
  });

  it('/docs is one self-contained page: no scripts, nothing remote', async () => {
    h = harness();
    const r = await h.req('/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await r.text();
    expect(html).toContain('/clusters/{id}/events');
    expect(html).not.toMatch(/<script|<link|<img|src=|href="https?:/i);
  });
});

describe('the offline bundle', () => {
  it('a dry run without the bundle on this machine has the same plan; the steps that read the bundle are skipped (no-bundle)', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await h.jobs.idle();
    const steps = JSON.parse(h.store.plan(id)!).phases.flatMap((p: { steps: { id: string; kind: string; needs?: string[] }[] }) => p.steps);
    const readsBundle = steps.filter((s: { kind: string; needs?: string[] }) => s.kind === 'verify-bundle' || s.kind === 'upload' || s.needs);
    expect(steps.map((s: { id: string }) => s.id)).toContain('cni/cluster/apply/10-calico');
    expect(readsBundle.length).toBeGreaterThan(5);
    expect(h.store.get(id)!.status).toBe('succeeded');
    const events = parseSse(await (await h.req(`/clusters/${id}/events`)).text()).map((e) => e.data as { type: string; reason?: string; stepId?: string });
    const skipped = events.filter((e) => e.type === 'step-skipped' && e.reason === 'no-bundle').map((e) => e.stepId).sort();
    expect(skipped).toEqual(readsBundle.map((s: { id: string }) => s.id).sort());
  });

  it('a real install never starts without the bundle: 409 bundle_missing naming it, nothing stored', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const r = await h.post('/clusters?executor=ssh', HA_TEXT.replace('bundleDir: /data/k8s', 'bundleDir: /nonexistent/bundle'));
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: { code: string; message: string; issues: { path: string }[] } };
    expect(body.error.code).toBe('bundle_missing');
    expect(body.error.message).toContain('/nonexistent/bundle');
    expect(body.error.issues.map((i) => i.path)).toEqual(['/nonexistent/bundle']);
    expect(h.store.list({ limit: 10 })).toEqual([]);
  });

  it('a bundle lacking a file the render needs: 409 naming that file (Calico\'s calico.yaml)', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
    const r = await h.post('/clusters?executor=ssh', HA_TEXT.replace('bundleDir: /data/k8s', `bundleDir: ${dir}`));
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toEqual(['manifests/calico-v3.27.0.yaml']);
  });

  it('a real install with an incomplete bundle fails at preflight/local/bundle before any host step', async () => {
    const { DryRunExecutor } = await import('../../src/executors/dry-run/dry-run.js');
    // "ssh" installs here run on recording executors: nothing may run beyond the read-only preflight checks
    h = harness({ seedSecrets: ['gpu-prod'], makeExecutor: (_k, host) => new DryRunExecutor({ host: host.name }) });
    const dir = renderInputsOnlyBundle(deriveView(loadFixture('runbook-ha')));
    const id = await created(await h.post('/clusters?executor=ssh', HA_TEXT.replace('bundleDir: /data/k8s', `bundleDir: ${dir}`)));
    await h.jobs.idle();
    const rec = h.store.get(id)!;
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatch(/^preflight\/local\/bundle on \S+: /);
    expect(JSON.parse(h.store.plan(id)!).phases.flatMap((p: { steps: { kind: string }[] }) => p.steps.map((s) => s.kind))).toContain('upload');
    expect(h.store.stepStates(id).filter((s) => !s.stepId.startsWith('preflight/local'))).toEqual([]);
  });
});

describe('restart', () => {
  it('a clean stop leaves the install running; the next start resumes it from the journal', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], delayMs: 5 });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await until(() => h.store.stepStates(id).filter((s) => s.state === 'done').length >= 15, 20_000, '15 steps done');
    await h.close(); // jobs.shutdown(): aborts without marking cancelled
    const dir = h.dir;
    h = harness({ dir, delayMs: 0 });
    expect(h.store.get(id)!.status).toBe('running');
    // what the stop cut short shows as interrupted, never as failed
    expect(h.store.stepStates(id).filter((s) => s.state === 'failed')).toEqual([]);
    const interrupted = h.store.stepStates(id).filter((s) => s.state === 'interrupted').map((s) => s.stepId);
    expect(interrupted.length).toBeGreaterThan(0);
    const doneBefore = new Set(h.store.stepStates(id).filter((s) => s.state === 'done').map((s) => s.stepId));
    const lastSeq = h.store.get(id)!.lastSeq;
    h.jobs.recovered = false;
    expect(await h.jobs.recover()).toBe(1);
    expect(h.jobs.recovered).toBe(true);
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
    const after = h.store.eventsAfter(id, lastSeq);
    expect(after[0]).toMatchObject({ type: 'status', status: 'running', reason: 'resumed after a server restart' });
    const readOnly = new Set(JSON.parse(h.store.plan(id)!).phases.flatMap((p: { steps: { id: string; readOnly?: boolean }[] }) => p.steps.filter((s) => s.readOnly).map((s) => s.id)));
    const repeated = after.filter((e) => e.type === 'step-started' && doneBefore.has(e.stepId) && !readOnly.has(e.stepId));
    expect(repeated).toEqual([]);
    expect(interrupted.filter((s) => !after.some((e) => e.type === 'step-finished' && e.stepId === s))).toEqual([]);
    expect(h.store.stepStates(id).filter((s) => s.state === 'interrupted')).toEqual([]);
  });

  it('a cancel requested before the stop is honoured at the next start', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], delayMs: 5 });
    const id = await created(await h.post('/clusters?dryRun=true', HA_TEXT));
    await until(() => h.store.get(id)!.status === 'running', 20_000, 'running');
    await h.close();
    h = harness({ dir: h.dir });
    h.store.requestCancel(id); // as if recorded just before a crash, before the install could act on it
    await h.jobs.recover();
    await h.jobs.idle();
    expect(h.store.get(id)).toMatchObject({ status: 'cancelled', error: null });
    expect(h.store.eventsAfter(id, 0).at(-1)).toMatchObject({ type: 'status', status: 'cancelled', reason: 'cancelled while the server was stopped' });
  });
});
