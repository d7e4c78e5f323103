// Auth (bearer token on everything but /healthz, constant-time compare, a separate token for secret files) and
// redaction: a full dry-run install whose commands print the cluster's secrets (as kubeadm init does) and whose
// failing step echoes a password; then every response body, every SSE event, every log line and the database files
// are scanned for every secret value.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, tokenEquals } from '../../src/api/auth.js';
import { DryRunExecutor } from '../../src/executors/dry-run/dry-run.js';
import { secretValues } from '../../src/runner/redact.js';
import { parseSecrets } from '../../src/secrets/secrets.js';
import { HA_TEXT, harness, SECRETS_TOKEN, TOKEN, type Harness } from './harness.js';
import { listTar } from './tar-read.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const ROUTES: [string, string][] = [
  ['GET', '/readyz'],
  ['GET', '/clusters'],
  ['POST', '/clusters'],
  ['GET', '/clusters/x'],
  ['DELETE', '/clusters/x'],
  ['GET', '/clusters/x/plan'],
  ['GET', '/clusters/x/files'],
  ['GET', '/clusters/x/events'],
  ['POST', '/clusters/x/cancel'],
  ['POST', '/clusters/x/resume'],
  ['POST', '/render'],
  ['POST', '/validate'],
  ['GET', '/openapi.json'],
  ['GET', '/docs'],
  ['GET', '/no-such-route'],
];

describe('bearer auth', () => {
  it.each(ROUTES)('%s %s: 401 without a token, with a wrong one, with another scheme', async (method, path) => {
    h = harness();
    const variants: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ];
    for (const headers of variants) {
      const r = await h.app.request(path, { method, headers: { ...headers, 'content-type': 'application/yaml' }, ...(method === 'POST' ? { body: HA_TEXT } : {}) });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await r.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect(h.store.list({ limit: 10 })).toEqual([]);
  });

  it('/healthz is open', async () => {
    h = harness();
    expect((await h.app.request('/healthz')).status).toBe(200);
  });

  it('tokenEquals compares digests (any lengths), bearer() parses the header', () => {
    expect(tokenEquals('abc', 'abc')).toBe(true);
    expect(tokenEquals('abc', 'abd')).toBe(false);
    expect(tokenEquals('', 'a'.repeat(1000))).toBe(false);
    expect(bearer('Bearer abc')).toBe('abc');
    expect(bearer('bearer   abc ')).toBe('abc');
    expect(bearer('Bearer a b')).toBeUndefined();
    expect(bearer(undefined)).toBeUndefined();
  });
});

describe('secret files need the separate secrets token', () => {
  it('403 without it or when the server has none; with it the archive holds the 0600 secret files', async () => {
    h = harness({ seedSecrets: ['gpu-prod'], secretsToken: true });
    const id = ((await (await h.post('/clusters?dryRun=true', HA_TEXT)).json()) as { id: string }).id;
    await h.jobs.idle();
    expect((await h.req(`/clusters/${id}/files?includeSecrets=true`)).status).toBe(403);
    expect((await h.req(`/clusters/${id}/files?includeSecrets=true`, { headers: { 'x-secrets-token': TOKEN } })).status).toBe(403);
    const r = await h.req(`/clusters/${id}/files?includeSecrets=true`, { headers: { 'x-secrets-token': SECRETS_TOKEN } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-secret-files-excluded')).toBe('0');
    const entries = listTar(gunzipSync(Buffer.from(await r.arrayBuffer())));
    const init = entries.find((e) => e.path === 'gpu-prod/etc/kubernetes/airgap-k8s/kubeadm-init.yaml' || e.path.endsWith('/kubeadm-init.yaml'))!;
    expect(init.mode).toBe(0o600);
    expect(h.logs.some((l) => l.includes('"msg":"secrets-download"'))).toBe(true);
    await h.close();

    h = harness({ seedSecrets: ['gpu-prod'] }); // no secrets token configured
    const id2 = ((await (await h.post('/clusters?dryRun=true', HA_TEXT)).json()) as { id: string }).id;
    await h.jobs.idle();
    const r2 = await h.req(`/clusters/${id2}/files?includeSecrets=true`, { headers: { 'x-secrets-token': SECRETS_TOKEN } });
    expect(r2.status).toBe(403);
    expect(await r2.json()).toMatchObject({ error: { code: 'forbidden' } });
  });
});

describe('no secret in any response, event, log line or the database', () => {
  it('a full dry-run install with fresh secrets, commands that print them and a failure that echoes one', async () => {
    let secrets: string[] = [];
    let failOnce = true;
    h = harness({
      secretsToken: true,
      // the install's own secrets, as they reach its executors (made by the job after the 202, in the worker pool)
      makeExecutor: (_kind, host, made) =>
        new DryRunExecutor({
          host: host.name,
          respond: (argv) => {
            if (secrets.length === 0) secrets = secretValues(made);
            const cmd = argv.join(' ');
            // kubeadm init prints the join command with the token and the certificate key
            if (/(^| )kubeadm init /.test(cmd)) return { stdout: `You can now join any number of control-plane nodes:\n  kubeadm join 55.192.0.1:6553 --token ${secrets[0]} --certificate-key ${secrets[2]}\n` };
            // a failing command (no retries: the install fails) that echoes a password and a CA key line on stderr
            if (failOnce && argv[0] === '/bin/sh' && cmd.endsWith('prepare-os.sh')) {
              failOnce = false;
              return { exitCode: 1, stderr: `auth_pass ${secrets[3]} rejected; key ${secrets.at(-1)}\n` };
            }
            return undefined;
          },
        }),
    });
    const bodies: string[] = [];
    const call = async (path: string, init?: RequestInit) => {
      const r = await h.req(path, init);
      const buf = Buffer.from(await r.arrayBuffer());
      bodies.push(r.headers.get('content-type') === 'application/gzip' ? listTar(gunzipSync(buf)).map((e) => `${e.path}\n${e.content.toString('utf8')}`).join('\n') : buf.toString('utf8'));
      for (const [k, v] of r.headers) bodies.push(`${k}: ${v}`);
      return { status: r.status, text: buf.toString('utf8') };
    };

    const created = await call('/clusters?dryRun=true', { method: 'POST', body: HA_TEXT, headers: { 'content-type': 'application/yaml' } });
    expect(created.status).toBe(202);
    const id = (JSON.parse(created.text) as { id: string }).id;

    // the first run fails where the stderr echoes secrets; the resumed one succeeds
    await call(`/clusters/${id}/events`);
    await h.jobs.idle();
    // what the executors were given is the cluster's secrets file; respond() uses [token, token secret, certificate
    // key, passwords..., CA key lines...]
    const parsed = parseSecrets(readFileSync(join(h.secretsDir, 'gpu-prod.secrets.yaml'), 'utf8'));
    if (!parsed.ok) throw new Error('secrets file unreadable');
    expect(secrets).toEqual(secretValues(parsed.secrets));
    // the new CA's key is ECDSA-P256: three base64 lines, of which the last is the one echoed
    const passwords = Object.keys(parsed.secrets.passwords).length;
    expect(passwords).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThan(3 + passwords);
    expect(parsed.secrets.ca.key).toContain(secrets.at(-1));
    expect(h.store.get(id)!.status).toBe('failed');
    expect(h.store.get(id)!.error).toMatch(/auth_pass \*\*\* rejected; key \*\*\*/);
    await call(`/clusters/${id}`);
    expect((await call(`/clusters/${id}/resume`, { method: 'POST' })).status).toBe(202);
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');

    const events = await call(`/clusters/${id}/events`);
    expect(events.text).toContain('kubeadm join 55.192.0.1:6553 --token ***');
    for (const p of [`/clusters/${id}`, `/clusters/${id}/plan`, `/clusters/${id}/files`, '/clusters', '/openapi.json', '/docs', '/readyz']) await call(p);
    await call('/render', { method: 'POST', body: HA_TEXT, headers: { 'content-type': 'application/yaml' } });
    await call('/validate', { method: 'POST', body: HA_TEXT, headers: { 'content-type': 'application/yaml' } });
    await call(`/clusters/${id}/files?includeSecrets=true`); // 403 body
    h.store.db.pragma('wal_checkpoint(PASSIVE)');

    const db = ['airgap-k8s.db', 'airgap-k8s.db-wal'].map((f) => join(h.dir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1'));
    const haystacks: [string, string[]][] = [
      ['response', bodies],
      ['log', h.logs],
      ['database', db],
    ];
    const values = [...secrets.filter((s) => s.length >= 8), TOKEN, SECRETS_TOKEN];
    for (const [where, texts] of haystacks) {
      for (const t of texts) for (const v of values) expect(t.includes(v), `${where} holds a secret (${v.slice(0, 4)}…)`).toBe(false);
    }
    expect(h.logs.length).toBeGreaterThan(10);
    // one JSON object per line; no bodies (the spec's text never shows up)
    expect(h.logs.every((l) => l.indexOf('\n') === l.length - 1 && typeof JSON.parse(l) === 'object')).toBe(true);
    expect(h.logs.some((l) => l.includes('apiVersion') || l.includes('55.192.0.125'))).toBe(false);

    // positive control: the secret files themselves do hold the values the scan looks for
    const withSecrets = await h.req(`/clusters/${id}/files?includeSecrets=true`, { headers: { 'x-secrets-token': SECRETS_TOKEN } });
    const all = listTar(gunzipSync(Buffer.from(await withSecrets.arrayBuffer()))).map((e) => e.content.toString('utf8')).join('\n');
    expect(all).toContain(secrets[0]);
    expect(all).toContain(secrets[2]);
  }, 60_000);
});
