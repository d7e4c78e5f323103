// `airgap-k8s apply --server`, `status` and `serve` flags, in-process against a real listening server (port 0).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/api/config.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/api/log.js';
import { run } from '../../src/cli/commands.js';
import { FIXTURES, ROOT } from '../support/fixtures.js';
import { capture } from '../support/capture.js';
import { specNamed, TOKEN } from './harness.js';

let server: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-cli-'));
  mkdirSync(join(dir, 'data', 'secrets'), { recursive: true });
  for (const n of ['gpu-prod', 'slow']) copyFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), join(dir, 'data', 'secrets', `${n}.secrets.yaml`));
  const cfg = resolveConfig({ AIRGAP_K8S_TOKEN: TOKEN, AIRGAP_K8S_LISTEN: '127.0.0.1:0', AIRGAP_K8S_DRYRUN_DELAY_MS: '2' }, { 'data-dir': join(dir, 'data') }, dir);
  if (!cfg.ok) throw new Error(cfg.errors.join('\n'));
  server = await startServer(cfg.config, { log: silentLogger });
});
afterAll(async () => {
  await server.close();
});

describe('airgap-k8s apply --server', () => {
  it('posts, prints live progress like a local apply, exits 0; status shows the install', async () => {
    const io = capture();
    const code = await run(['apply', join(FIXTURES, 'valid-runbook-ha.yaml'), '--server', server.url, '--token', TOKEN, '--executor', 'dry-run'], io);
    expect(code, io.err).toBe(0);
    expect(io.err).toMatch(/install \w{26} of cluster "gpu-prod" accepted \(executor dry-run\)/);
    expect(io.err).toContain('warning: spec.containerRuntime.containerd.version');
    expect(io.out).toMatch(/^Cluster "gpu-prod": \d+ phases, \d+ steps\n/);
    expect(io.out).toContain('== preflight');
    expect(io.out).toMatch(/\[\s*\d+\/\d+\] master1\s+changed /);
    expect(io.out).toMatch(/\ndone in [\d.]+s: \d+ changed, \d+ skipped, 0 failed\n$/);

    const id = /install (\w{26})/.exec(io.err)![1]!;
    const st = capture();
    expect(await run(['status', id, '--server', server.url, '--token', TOKEN], st)).toBe(0);
    expect(st.out).toContain(`${id}  cluster "gpu-prod"  succeeded  phase verify  executor dry-run  runs 1`);
    const js = capture();
    expect(await run(['status', id, '--server', server.url, '--token', TOKEN, '--json'], js)).toBe(0);
    expect((JSON.parse(js.out) as { steps: unknown[] }).steps.length).toBeGreaterThan(100);
  });

  it('exits 1 when the install is cancelled, with the final line saying so', async () => {
    const spec = join(dir, 'slow.yaml');
    writeFileSync(spec, specNamed('slow'));
    const io = capture();
    const done = run(['apply', spec, '--server', server.url, '--token', TOKEN, '--executor', 'dry-run'], io);
    const id = await (async () => {
      for (;;) {
        const m = /install (\w{26})/.exec(io.err);
        if (m && io.out.includes('== prepare-os')) return m[1]!;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const r = await fetch(`${server.url}/clusters/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(202);
    expect(await done).toBe(1);
    expect(io.out).toMatch(/\ncancelled in [\d.]+s/);
    const st = capture();
    expect(await run(['status', id, '--server', server.url, '--token', TOKEN], st)).toBe(1);
    expect(st.out).toContain('cancelled');
  });

  it('exits 2 with every issue for a bad spec, for bad flags and unknown installs; 1 for a wrong token', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(join(FIXTURES, 'valid-runbook-ha.yaml'), 'utf8').replace(/^spec:\n/m, 'spec:\n  surprise: 1\n').replace('name: gpu-prod', 'name: Bad_Name'));
    const io = capture();
    expect(await run(['apply', bad, '--server', server.url, '--token', TOKEN], io)).toBe(2);
    expect(io.err).toContain('422 invalid_spec');
    expect(io.err).toContain('  spec.surprise: unknown field');
    expect(io.err).toContain('  metadata.name: ');

    const wrong = capture();
    expect(await run(['apply', '--server', server.url, '--token', 'nope-nope-nope-nope'], wrong)).toBe(1);
    expect(wrong.err).toContain('401 unauthorized');

    const noToken = capture();
    const saved = process.env.AIRGAP_K8S_TOKEN;
    delete process.env.AIRGAP_K8S_TOKEN;
    expect(await run(['apply', '--server', server.url], noToken)).toBe(2);
    if (saved !== undefined) process.env.AIRGAP_K8S_TOKEN = saved;
    expect(noToken.err).toContain('a token is needed');
    expect(await run(['apply', '--server', server.url, '--token', TOKEN, '--executor', 'local'], capture())).toBe(2);
    expect(await run(['apply', '--server', 'ftp://x', '--token', TOKEN], capture())).toBe(2);

    const st = capture();
    expect(await run(['status', 'nosuchinstall', '--server', server.url, '--token', TOKEN], st)).toBe(2);
    expect(st.err).toContain('404 not_found');
    expect(await run(['status', '--server', server.url, '--token', TOKEN], capture())).toBe(2);
  });

  it('cannot reach a server: exit 1 with the reason', async () => {
    const io = capture();
    expect(await run(['apply', '--server', 'http://127.0.0.1:9', '--token', TOKEN], io)).toBe(1);
    expect(io.err).toContain('cannot reach http://127.0.0.1:9');
  });
});

describe('airgap-k8s serve settings', () => {
  it('env and flags (flags win), defaults, every error at once', () => {
    const r = resolveConfig({ AIRGAP_K8S_LISTEN: '0.0.0.0:9000', AIRGAP_K8S_DRYRUN_DELAY_MS: '50', AIRGAP_K8S_EXECUTOR: 'dry-run' }, { listen: '[::1]:8081' }, '/srv');
    expect(r).toMatchObject({
      ok: true,
      config: { host: '::1', port: 8081, dataDir: '/srv/data', secretsDir: '/srv/data/secrets', token: { kind: 'generated', file: '/srv/data/token' }, defaultExecutor: 'dry-run', dryRunDelayMs: 50, concurrency: 10, dbSync: 'normal' },
    });
    const d = resolveConfig({}, {}, '/srv');
    expect(d).toMatchObject({ ok: true, config: { host: '127.0.0.1', port: 8080, defaultExecutor: 'ssh', dryRunDelayMs: 0 } });
    expect(resolveConfig({ AIRGAP_K8S_TOKEN: 'x'.repeat(20) }, {}, '/')).toMatchObject({ ok: true, config: { token: { kind: 'env' } } });
    expect(resolveConfig({ AIRGAP_K8S_TOKEN: 'x'.repeat(20) }, { 'token-file': 't' }, '/')).toMatchObject({ ok: true, config: { token: { kind: 'file', file: '/t' } } });
    const bad = resolveConfig({ AIRGAP_K8S_TOKEN: 'short', AIRGAP_K8S_DRYRUN_DELAY_MS: '-1' }, { listen: 'nowhere', executor: 'local', 'db-sync': 'off', 'secrets-token-file': '/nonexistent' }, '/');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors).toHaveLength(6);
  });

  it('serve exits 2 on bad settings, and --help lists the environment', async () => {
    const io = capture();
    expect(await run(['serve', '--listen', 'nowhere'], io)).toBe(2);
    expect(io.err).toContain('listen address "nowhere" must be HOST:PORT');
    const help = capture();
    expect(await run(['serve', '--help'], help)).toBe(0);
    expect(help.out).toContain('AIRGAP_K8S_DATA_DIR');
    expect(help.out).toContain('AIRGAP_K8S_DRYRUN_DELAY_MS');
  });
});
