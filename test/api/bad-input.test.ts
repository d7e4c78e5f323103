// Bad input is answered 4xx with the one error shape — never 5xx, never a stack trace — and nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HA_TEXT, harness, JSONH, type Harness } from './harness.js';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

let h: Harness;
beforeAll(() => {
  h = harness({ seedSecrets: ['gpu-prod'] });
});
afterAll(async () => {
  await h.close();
});

const aliasBomb = `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: bomb}
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
spec: *g
`;

const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
const deepYaml = `apiVersion: airgap-k8s/v1alpha1\nkind: Cluster\nmetadata: {name: deep}\nspec: ${'{a: '.repeat(60)}1${'}'.repeat(60)}\n`;

interface Case {
  name: string;
  path?: string;
  body: string | Uint8Array;
  type?: string | null;
  status: number;
  code: string;
  issue?: RegExp;
}

const cases: Case[] = [
  { name: 'malformed JSON', body: '{"apiVersion": "airgap-k8s/v1alpha1",', type: 'application/json', status: 400, code: 'malformed_body' },
  { name: 'JSON with a trailing comma', body: '{"a": 1,}', type: 'application/json', status: 400, code: 'malformed_body' },
  { name: 'malformed YAML', body: 'apiVersion: [unclosed\n  kind: : :', status: 400, code: 'malformed_body' },
  { name: 'two YAML documents', body: `${HA_TEXT}\n---\n${HA_TEXT}`, status: 400, code: 'malformed_body' },
  { name: 'an empty body', body: '', status: 400, code: 'malformed_body' },
  { name: 'a JSON array', body: '[1,2,3]', type: 'application/json', status: 422, code: 'invalid_spec' },
  { name: 'a JSON string', body: '"hello"', type: 'application/json', status: 422, code: 'invalid_spec' },
  { name: 'wrong types', body: HA_TEXT.replace('name: gpu-prod', 'name: 42').replace(/port: 6553/, 'port: "many"'), status: 422, code: 'invalid_spec', issue: /^metadata\.name: /m },
  { name: 'unknown fields', body: HA_TEXT.replace(/^spec:\n/m, 'spec:\n  surprise: true\n'), status: 422, code: 'invalid_spec', issue: /^spec\.surprise: unknown field$/m },
  { name: 'an unsupported apiVersion', body: HA_TEXT.replace('airgap-k8s/v1alpha1', 'airgap-k8s/v9'), status: 422, code: 'invalid_spec', issue: /^apiVersion: /m },
  { name: 'a YAML alias bomb', body: aliasBomb, status: 422, code: 'invalid_spec', issue: /aliases/ },
  { name: 'deep nesting (YAML)', body: deepYaml, status: 422, code: 'invalid_spec', issue: /nesting deeper/ },
  { name: 'deep nesting (JSON)', body: deep, type: 'application/json', status: 422, code: 'invalid_spec', issue: /nesting deeper/ },
  // one limit, one code, whatever the body type and however deep (js-yaml's own bound is mapped to the same issue)
  { name: 'deep nesting (YAML, 150 levels)', body: deepYaml.replace(/\{a: /g, '').replace(/}+\n$/, '\n').replace('spec: 1', `spec: ${'{a: '.repeat(150)}1${'}'.repeat(150)}`), status: 422, code: 'invalid_spec', issue: /^(\S*): nesting deeper than 32 levels$/m },
  { name: 'deep nesting (JSON as YAML, 10,000 levels)', body: `${'['.repeat(10000)}${']'.repeat(10000)}`, status: 422, code: 'invalid_spec', issue: /^: nesting deeper than 32 levels$/m },
  { name: 'a body over 1 MiB', body: `# ${'x'.repeat(1024 * 1024 + 10)}\n${HA_TEXT}`, status: 413, code: 'too_large' },
  { name: 'a binary body', body: new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80]), status: 400, code: 'malformed_body' },
  { name: 'text/plain', body: HA_TEXT, type: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'form data', body: 'a=1', type: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
  { name: 'no Content-Type', body: HA_TEXT, type: null, status: 415, code: 'unsupported_media_type' },
];

describe.each(['/clusters?dryRun=true', '/validate', '/render'])('POST %s', (path) => {
  it.each(cases)('$name -> $status $code', async (c) => {
    const headers: Record<string, string> = {};
    if (c.type !== null) headers['content-type'] = c.type ?? 'application/yaml';
    const r = await h.req(path, { method: 'POST', body: c.body as BodyInit, headers });
    const text = await r.text();
    expect(r.status, text.slice(0, 300)).toBe(c.status);
    const body = JSON.parse(text) as { error: { code: string; message: string; issues?: { path: string; message: string }[] } };
    expect(body.error.code).toBe(c.code);
    expect(typeof body.error.message).toBe('string');
    if (c.issue) expect(body.error.issues!.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(c.issue);
    expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/); // no stack trace
    expect(h.store.list({ limit: 10 })).toEqual([]);
  });
});

describe('every issue at once, each with its path', () => {
  it('reports all schema problems of a bad spec in one 422', async () => {
    const bad = `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: Bad_Name}
spec:
  hosts:
    - {name: m1, address: 10.0.0.300, roles: [control-plane], interface: "eth0;reboot"}
  surprise: true
`;
    const r = await h.post('/clusters?dryRun=true', bad);
    expect(r.status).toBe(422);
    const issues = ((await r.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['metadata.name', 'spec.hosts[0].address', 'spec.hosts[0].interface', 'spec.surprise']));
  });

  it('JSON error messages do not echo the body', async () => {
    const r = await h.req('/validate', { method: 'POST', body: '{"password": "hunter2-secret-value" oops}', headers: JSONH });
    expect(r.status).toBe(400);
    expect(await r.text()).not.toContain('hunter2');
  });
});

describe('bad requests elsewhere', () => {
  it('bad query values and unknown routes', async () => {
    expect((await h.post('/clusters?dryRun=maybe', HA_TEXT)).status).toBe(400);
    expect((await h.post('/clusters?executor=local', HA_TEXT)).status).toBe(400);
    expect((await h.req('/clusters?limit=-1')).status).toBe(400);
    // a cluster name is an RFC 1123 label, in the document as a pattern (40 emoji are 40 code points, 80 UTF-16 units)
    expect((await h.req(`/clusters?name=${encodeURIComponent('😀'.repeat(40))}`)).status).toBe(400);
    expect((await h.req('/clusters?name=Bad_Name')).status).toBe(400);
    expect((await h.req('/clusters?name=gpu-prod')).status).toBe(200);
    expect((await h.req('/clusters/x/files?includeSecrets=yes')).status).toBe(400);
    const r = await h.req('/nothing/here');
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a known path with a method it does not have: 405 with an Allow header listing the ones it has', async () => {
    const cases: [string, string, string][] = [
      ['/clusters', 'PUT', 'GET, HEAD, POST'],
      ['/healthz', 'DELETE', 'GET, HEAD'],
      ['/clusters/abc/events', 'POST', 'GET, HEAD'],
      ['/validate', 'GET', 'POST'],
    ];
    for (const [path, method, allow] of cases) {
      const r = await h.req(path, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(await r.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    }
    // an unknown path stays 404 whatever the method
    expect((await h.req('/clusters/abc/nothing', { method: 'PUT' })).status).toBe(404);
  });

  it('TRACE over real HTTP (fetch cannot send it): 405 with Allow', async () => {
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await new Promise<{ status: number; allow: string | undefined }>((resolve, reject) => {
        const rq = httpRequest({ host: '127.0.0.1', port, path: '/healthz', method: 'TRACE' }, (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode!, allow: r.headers.allow }));
        });
        rq.on('error', reject);
        rq.end();
      });
      expect(res).toEqual({ status: 405, allow: 'GET, HEAD' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
