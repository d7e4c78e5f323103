// A user of the whole package: the optional peers present (linked, see setup.ts). Importing the light subpaths
// still loads none of them (the probe is shown to see them when they are imported); a custom executor proved by the
// exported conformance suite; the REST app mounted inside another hono server with its own authentication.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { compileExamples, HEAVY, loaded, probe, run } from './support.js';

const c = inject('consumer');

describe('imports load only what they need, with every optional dependency installed', () => {
  it.each(['airgap-k8s', 'airgap-k8s/spec', 'airgap-k8s/secrets', 'airgap-k8s/generators', 'airgap-k8s/plan'])('import %s loads no native module, no hono, no ssh2', (specifier) => {
    const p = probe(c.root, c.full, specifier);
    expect(p.error).toBeUndefined();
    expect(p.dlopen).toEqual([]);
    expect(loaded(p).filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('the probe sees them when they are loaded: better-sqlite3 (a native addon), and hono through airgap-k8s/api', () => {
    const sqlite = probe(c.root, c.full, 'better-sqlite3');
    expect(sqlite.error).toBeUndefined();
    expect(loaded(sqlite).filter((m) => HEAVY.test(m)).length).toBeGreaterThan(0);
    const api = probe(c.root, c.full, 'airgap-k8s/api');
    expect(api.error).toBeUndefined();
    expect(api.resolved.filter((m) => /\/node_modules\/hono\//.test(m)).length).toBeGreaterThan(0);
    // SQLite is loaded when a Store opens, not by the import
    expect(api.dlopen).toEqual([]);
    const addon = run(process.execPath, ['--input-type=module', '-e', "import Database from 'better-sqlite3'; new Database(':memory:').close(); console.log('ok')"], c.full);
    expect(addon.stdout.trim()).toBe('ok');
  });
});

describe('examples that need the optional dependencies', () => {
  beforeAll(() => {
    const tsc = compileExamples(c.root, c.full, ['custom-executor', 'mount-rest-app']);
    if (tsc.code !== 0) throw new Error(`examples do not type-check against the installed package:\n${tsc.stdout}${tsc.stderr}`);
  }, 120_000);

  it('examples/custom-executor: PrefixExecutor passes the exported conformance suite (vitest in the consumer project)', () => {
    const vitest = join(c.full, 'node_modules/vitest/vitest.mjs');
    const r = run(process.execPath, [vitest, 'run', '--root', join(c.full, 'examples/custom-executor'), '--reporter', 'dot', '--testTimeout', '60000'], c.full, { CI: '1' }, 240_000);
    const tail = `${r.stdout}\n${r.stderr}`.split('\n').slice(-25).join('\n');
    expect(r.code, tail).toBe(0);
    // the suite really ran: dozens of cases, none skipped
    const passed = /Tests\s+(\d+) passed/.exec(r.stdout.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(Number(passed?.[1] ?? 0), tail).toBeGreaterThan(40);
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/skipped|failed/);
  }, 300_000);

  it('examples/mount-rest-app: the outer server refuses without its own key; with it, a dry-run install is accepted and finishes', () => {
    const driver = [
      "import { mkdtempSync } from 'node:fs';",
      "import { readFileSync } from 'node:fs';",
      "import { tmpdir } from 'node:os';",
      "import { join } from 'node:path';",
      "import { createOuterApp, openAirgapService } from './build/mount-rest-app/server.js';",
      "import { silentLogger } from 'airgap-k8s/api';",
      "const service = openAirgapService(mkdtempSync(join(tmpdir(), 'airgap-mount-')));",
      'await service.recover();',
      "const app = createOuterApp(service, new Map([['team-key-123', 'platform']]));",
      "const spec = readFileSync(process.argv[2], 'utf8');",
      'const out = {};',
      "out.own = (await app.request('/')).status;",
      "out.noKey = (await app.request('/airgap/clusters')).status;",
      "const post = await app.request('/airgap/clusters?dryRun=true', { method: 'POST', headers: { 'X-Team-Key': 'team-key-123', 'Content-Type': 'application/yaml' }, body: spec });",
      'out.post = post.status;',
      'const { id } = await post.json();',
      'let status;',
      'for (let i = 0; i < 600; i++) {',
      "  const g = await app.request(`/airgap/clusters/${id}`, { headers: { 'X-Team-Key': 'team-key-123' } });",
      '  status = (await g.json()).status;',
      "  if (status !== 'pending' && status !== 'running') break;",
      '  await new Promise((r) => setTimeout(r, 100));',
      '}',
      'out.final = status;',
      "const audit = await app.request('/airgap/audit', { headers: { 'X-Team-Key': 'team-key-123' } });",
      'out.audit = audit.status;',
      'await service.close();',
      'console.log(JSON.stringify(out));',
      'void silentLogger;',
    ].join('\n');
    writeFileSync(join(c.full, 'mount-driver.mjs'), driver);
    const r = run(process.execPath, ['mount-driver.mjs', join(c.root, 'fixtures/valid-runbook-ha.yaml')], c.full, { AIRGAP_K8S_BUNDLE_DIR: '' }, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    // own routes answer; airgap's need the team key; an operator may install but not read the audit trail (admin)
    expect(out).toEqual({ own: 200, noKey: 401, post: 202, final: 'succeeded', audit: 403 });
  }, 150_000);
});
