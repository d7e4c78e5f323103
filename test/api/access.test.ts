// Who may do what (issue 19): every route x every kind of credential gets exactly the expected status, from the one
// route table (src/api/access.ts), which must name every route the app has; every mutating call leaves exactly one
// audit entry; failed authentications from one address end in 429 while other addresses go on; `airgap-k8s token`.
import { request as httpRequest } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailureLimiter, NOT_IN_DOCUMENT, ROLES, ROUTE_ACCESS, type RouteKey } from '../../src/api/access.js';
import { run } from '../../src/cli/commands.js';
import { capture } from '../support/capture.js';
import { HA_TEXT, harness, SECRETS_TOKEN, specNamed, TOKEN, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A request from a given peer address (the service reads the socket's; app.request has none, so it is given). */
const from = (hh: Harness, address: string, path: string, init: RequestInit = {}) => hh.app.request(path, init, { incoming: { socket: { remoteAddress: address } } });
const bearer = (t: string | undefined): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {});

async function installed(hh: Harness, name: string): Promise<string> {
  const r = await hh.app.request('/clusters?dryRun=true', { method: 'POST', body: specNamed(name), headers: { ...bearer(TOKEN), 'content-type': 'application/yaml' } });
  expect(r.status).toBe(202);
  await hh.jobs.idle();
  return ((await r.json()) as { id: string }).id;
}

describe('the route table', () => {
  it('names every route of the app, and nothing else', () => {
    h = harness();
    const routes = new Set(
      h.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}` as string),
    );
    expect([...routes].sort()).toEqual(Object.keys(ROUTE_ACCESS).sort());
  });

  it('the OpenAPI document shows each operation\'s role (x-required-role)', async () => {
    h = harness();
    const doc = (await (await h.app.request('/openapi.json', { headers: bearer(TOKEN) })).json()) as { paths: Record<string, Record<string, { 'x-required-role'?: string }>> };
    const shown = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).map(([m, op]) => [`${m.toUpperCase()} ${p}`, op['x-required-role']]));
    for (const [key, role] of shown) expect([key, role]).toEqual([key, ROUTE_ACCESS[key as RouteKey]]);
    expect(shown.length).toBe(Object.keys(ROUTE_ACCESS).length - NOT_IN_DOCUMENT.length); // all but the document, its page and the console's files
  });
});

describe('role matrix: every route x no token, wrong, revoked, viewer, operator, admin', () => {
  /** The status an allowed request gets, with the request that shows it (ids of installs made for it). */
  const ALLOWED: Record<RouteKey, { status: number; req: (ids: { done: string; spare: () => Promise<string> }) => Promise<[string, RequestInit]> }> = {
    'GET /healthz': { status: 200, req: async () => ['/healthz', {}] },
    'GET /readyz': { status: 200, req: async () => ['/readyz', {}] },
    'GET /openapi.json': { status: 200, req: async () => ['/openapi.json', {}] },
    'GET /docs': { status: 200, req: async () => ['/docs', {}] },
    'POST /validate': { status: 200, req: async () => ['/validate', { method: 'POST', body: HA_TEXT, headers: { 'content-type': 'application/yaml' } }] },
    'POST /render': { status: 200, req: async () => ['/render', { method: 'POST', body: HA_TEXT, headers: { 'content-type': 'application/yaml' } }] },
    'GET /clusters': { status: 200, req: async () => ['/clusters', {}] },
    'POST /clusters': { status: 202, req: async () => [`/clusters?dryRun=true`, { method: 'POST', body: specNamed(`m${Math.random().toString(36).slice(2, 10)}`), headers: { 'content-type': 'application/yaml' } }] },
    'GET /clusters/{id}': { status: 200, req: async ({ done }) => [`/clusters/${done}`, {}] },
    'DELETE /clusters/{id}': { status: 204, req: async ({ spare }) => [`/clusters/${await spare()}`, { method: 'DELETE' }] },
    'GET /clusters/{id}/plan': { status: 200, req: async ({ done }) => [`/clusters/${done}/plan`, {}] },
    'GET /clusters/{id}/files': { status: 200, req: async ({ done }) => [`/clusters/${done}/files`, {}] },
    // allowed, and then refused: an install is not an etcd-snapshot operation
    'GET /clusters/{id}/snapshot': { status: 404, req: async ({ done }) => [`/clusters/${done}/snapshot`, {}] },
    'GET /clusters/{id}/events': { status: 200, req: async ({ done }) => [`/clusters/${done}/events`, { headers: { accept: 'application/json' } }] },
    // allowed, and then refused by the install's state: a finished install is not running
    'POST /clusters/{id}/cancel': { status: 409, req: async ({ done }) => [`/clusters/${done}/cancel`, { method: 'POST' }] },
    'POST /clusters/{id}/resume': { status: 409, req: async ({ done }) => [`/clusters/${done}/resume`, { method: 'POST' }] },
    'GET /audit': { status: 200, req: async () => ['/audit', {}] },
    // allowed, and then refused: gpu-prod has no real install on this service
    'POST /operations': { status: 404, req: async () => ['/operations', { method: 'POST', body: JSON.stringify({ cluster: 'gpu-prod', operation: 'certs-renew' }), headers: { 'content-type': 'application/json' } }] },
    'GET /console': { status: 200, req: async () => ['/console', {}] },
    'GET /console/{file}': { status: 200, req: async () => ['/console/main.js', {}] },
  };

  it('gets exactly the expected status', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const hh = h;
    const tokens = Object.fromEntries(ROLES.map((r) => [r, hh.access.createToken(`t-${r}`, r)])) as Record<(typeof ROLES)[number], string>;
    const revoked = hh.access.createToken('t-revoked', 'admin');
    hh.access.revokeToken('t-revoked');
    const done = await installed(hh, 'gpu-prod');
    let n = 0;
    const ids = { done, spare: () => installed(hh, `spare${n++}`) };
    const creds: [string, string | undefined, (typeof ROLES)[number] | undefined][] = [
      ['no token', undefined, undefined],
      ['wrong token', 'agk_wrong', undefined],
      ['revoked token', revoked, undefined],
      ...ROLES.map((r): [string, string, (typeof ROLES)[number]] => [r, tokens[r], r]),
    ];
    const seen: string[] = [];
    const expected: string[] = [];
    for (const [key, need] of Object.entries(ROUTE_ACCESS) as [RouteKey, string][]) {
      for (const [label, token, role] of creds) {
        const [path, init] = await ALLOWED[key].req(ids);
        const r = await hh.app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), ...bearer(token) } });
        await hh.jobs.idle();
        const want = need === 'public' ? ALLOWED[key].status : !role ? 401 : ROLES.indexOf(role) >= ROLES.indexOf(need as (typeof ROLES)[number]) ? ALLOWED[key].status : 403;
        seen.push(`${key} as ${label}: ${r.status}`);
        expected.push(`${key} as ${label}: ${want}`);
      }
    }
    expect(seen).toEqual(expected);
  });

  it('secret files: admin with the secrets token only; an operator is refused even with it', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], secretsToken: true });
    const id = await installed(h, 'gpu-prod');
    const op = h.access.createToken('op', 'operator');
    const get = (t: string) => h!.app.request(`/clusters/${id}/files?includeSecrets=true`, { headers: { ...bearer(t), 'x-secrets-token': SECRETS_TOKEN } });
    expect((await get(op)).status).toBe(403);
    expect((await get(TOKEN)).status).toBe(200);
  });
});

describe('audit trail', () => {
  it('every mutating call leaves exactly one entry with who, from where, what and how it ended; reads leave none', async () => {
    h = harness({ seedSecrets: ['gpu-prod', 'other'], secretsToken: true });
    const op = h.access.createToken('ops-desk', 'operator');
    const viewer = h.access.createToken('watcher', 'viewer');
    const before = h.access.auditAfter(0, 1000).length;
    const post = await from(h, '192.0.2.7', '/clusters?dryRun=true', { method: 'POST', body: HA_TEXT, headers: { ...bearer(op), 'content-type': 'application/yaml' } });
    expect(post.status).toBe(202);
    const id = ((await post.json()) as { id: string }).id;
    await h.jobs.idle();
    await from(h, '192.0.2.7', `/clusters/${id}`, { headers: bearer(op) }); // a read: no entry
    await from(h, '192.0.2.8', `/clusters/${id}/cancel`, { method: 'POST', headers: bearer(viewer) }); // refused: 403
    await from(h, '192.0.2.9', `/clusters/${id}`, { method: 'DELETE', headers: bearer('agk_nope') }); // refused: 401
    await from(h, '192.0.2.9', `/clusters/${id}/files?includeSecrets=true`, { headers: { ...bearer(TOKEN), 'x-secrets-token': SECRETS_TOKEN } }); // audited read
    await from(h, '192.0.2.9', `/clusters/${id}`, { method: 'DELETE', headers: bearer(TOKEN) });
    const entries = h.access.auditAfter(0, 1000).slice(before).map(({ seq: _s, at, ...e }) => (expect(at).toMatch(/^\d{4}-\d\d-\d\dT/), e));
    expect(entries).toEqual([
      { token: 'ops-desk', role: 'operator', source: '192.0.2.7', method: 'POST', path: '/clusters', clusterId: id, status: 202, outcome: 'ok' },
      { token: 'watcher', role: 'viewer', source: '192.0.2.8', method: 'POST', path: `/clusters/${id}/cancel`, clusterId: id, status: 403, outcome: 'denied' },
      { token: null, role: null, source: '192.0.2.9', method: 'DELETE', path: `/clusters/${id}`, clusterId: id, status: 401, outcome: 'denied' },
      { token: 'admin', role: 'admin', source: '192.0.2.9', method: 'GET', path: `/clusters/${id}/files`, clusterId: id, status: 200, outcome: 'ok' },
      { token: 'admin', role: 'admin', source: '192.0.2.9', method: 'DELETE', path: `/clusters/${id}`, clusterId: id, status: 204, outcome: 'ok' },
    ]);
    // GET /audit shows the same, to admins; each entry is also a log line; no token value anywhere
    const page = (await (await h.app.request('/audit?limit=1000', { headers: bearer(TOKEN) })).json()) as { items: unknown[] };
    expect(page.items.length).toBe(before + entries.length);
    expect(h.logs.filter((l) => JSON.parse(l).msg === 'audit').length).toBe(before + entries.length);
    const all = `${JSON.stringify(page)}\n${h.logs.join('\n')}\n${readFileSync(`${h.dir}/airgap-k8s.db`).toString('latin1')}`;
    for (const t of [op, viewer, TOKEN, SECRETS_TOKEN]) expect(all.includes(t), 'a token value in the audit trail, log or database').toBe(false);
  });
});

describe('failed authentications', () => {
  let server: ServerType | undefined;
  afterEach(() => void server?.close());

  /** GET over real HTTP from a given loopback source address (Linux accepts all of 127.0.0.0/8). */
  const get = (port: number, localAddress: string, token: string) =>
    new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/clusters', localAddress, headers: bearer(token) }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });

  it('200 wrong tokens from one address end in 429 + Retry-After; a right token from another address still works', async () => {
    h = harness({ limiter: new AuthFailureLimiter({ max: 20, windowMs: 60_000, blockMs: 60_000, maxAddresses: 100 }) });
    server = await new Promise<ServerType>((res) => {
      const s = serve({ fetch: h!.app.fetch, hostname: '127.0.0.1', port: 0 }, () => res(s));
    });
    const port = (server.address() as AddressInfo).port;
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 200; i++) {
      const r = await get(port, '127.0.0.2', `agk_guess${i}`);
      statuses.push(r.status);
      retryAfter ??= r.retryAfter;
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(180).fill(429));
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await get(port, '127.0.0.2', TOKEN)).status).toBe(429); // the blocked address, even with the right token
    expect((await get(port, '127.0.0.3', TOKEN)).status).toBe(200);
  });
});

describe('airgap-k8s token', () => {
  it('create prints a token once that the service takes with its role; revoke ends it; list shows names, never tokens', async () => {
    h = harness();
    const io = capture(h.dir);
    expect(await run(['token', 'create', '--role', 'viewer', '--name', 'desk-1', '--data-dir', h.dir], io)).toBe(0);
    const token = io.out.trim();
    expect(token).toMatch(/^agk_[A-Za-z0-9_-]{32}$/);
    expect(io.err).toContain('created token "desk-1" (viewer)');
    expect((await h.app.request('/clusters', { headers: bearer(token) })).status).toBe(200);
    expect((await h.app.request('/clusters?dryRun=true', { method: 'POST', body: HA_TEXT, headers: { ...bearer(token), 'content-type': 'application/yaml' } })).status).toBe(403);
    io.out = '';
    expect(await run(['token', 'list', '--data-dir', h.dir], io)).toBe(0);
    expect(io.out).toMatch(/^desk-1\s+viewer\s+created /);
    expect(io.out).not.toContain(token);
    expect(await run(['token', 'revoke', 'desk-1', '--data-dir', h.dir], io)).toBe(0);
    expect((await h.app.request('/clusters', { headers: bearer(token) })).status).toBe(401);
    io.err = '';
    expect(await run(['token', 'create', '--role', 'root', '--data-dir', h.dir], io)).toBe(2);
    expect(io.err).toContain('--role must be one of viewer, operator, admin');
    expect(await run(['token', 'create', '--role', 'admin', '--name', 'desk-1', '--data-dir', h.dir], io)).toBe(2);
    expect(io.err).toContain('a token named desk-1 exists');
  });
});

describe('the failure limiter on its own (a clock of its own)', () => {
  it('counts failures in the window, blocks for blockMs, forgets on success, and tracks at most maxAddresses', () => {
    let now = 0;
    const l = new AuthFailureLimiter({ max: 3, windowMs: 10_000, blockMs: 30_000, maxAddresses: 2 }, () => now);
    l.fail('a');
    now = 11_000; // the first failure left the window
    l.fail('a');
    l.fail('a');
    expect(l.retryAfter('a')).toBe(0);
    l.fail('a');
    expect(l.retryAfter('a')).toBe(30);
    now += 29_500;
    expect(l.retryAfter('a')).toBe(1);
    now += 500;
    expect(l.retryAfter('a')).toBe(0);
    l.fail('b');
    l.fail('b');
    l.succeed('b');
    l.fail('b');
    l.fail('b');
    expect(l.retryAfter('b')).toBe(0);
    // a third address pushes out the least recently failing one
    for (const x of ['c', 'c', 'c']) l.fail(x);
    expect(l.retryAfter('c')).toBe(30);
    l.fail('d');
    l.fail('e');
    expect(l.retryAfter('c')).toBe(0);
  });
});

describe('security headers', () => {
  it('every answer: nosniff, no framing, no referrer, a CSP without scripts; /docs allows only its inline styles', async () => {
    h = harness();
    for (const path of ['/clusters', '/docs', '/healthz', '/nope']) {
      const r = await h.app.request(path, { headers: bearer(TOKEN) });
      expect([path, r.headers.get('x-content-type-options'), r.headers.get('x-frame-options'), r.headers.get('referrer-policy')]).toEqual([path, 'nosniff', 'DENY', 'no-referrer']);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src/);
    }
  });
});
