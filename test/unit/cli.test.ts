// The CLI in-process (commands.run with a captured Io) and once as a real process for exit codes and file modes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands.js';
import { FIXTURES, ROOT, readTree } from '../support/fixtures.js';
import { capture } from '../support/capture.js';

describe('airgap-k8s validate', () => {
  it('accepts the runbook HA fixture and prints its warnings', async () => {
    const io = capture();
    expect(await run(['validate', join(FIXTURES, 'valid-runbook-ha.yaml')], io)).toBe(0);
    expect(io.out).toContain('valid (Cluster "gpu-prod", 4 hosts)');
    expect(io.err).toMatch(/warning: spec\.containerRuntime\.containerd\.version: containerd 1\.6 reached end of life/);
  });

  it('exits 2 with every issue as path: message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: Bad_Name}
spec:
  hosts:
    - {name: m1, address: 10.0.0.300, roles: [control-plane], interface: "eth0;reboot"}
  surprise: true
`,
    );
    const io = capture();
    expect(await run(['validate', bad], io)).toBe(2);
    expect(io.err).toContain('metadata.name: must be an RFC 1123 label');
    expect(io.err).toContain('spec.hosts[0].address: must be an IPv4 address');
    expect(io.err).toContain('spec.hosts[0].interface: must be a Linux interface name');
    expect(io.err).toContain('spec.surprise: unknown field');
  });

  it('--json prints machine-readable issues', async () => {
    const io = capture();
    expect(await run(['validate', '--json', join(FIXTURES, 'valid-unicast.yaml')], io)).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ ok: true, issues: [] });
  });

  it('an unreadable file is bad input, not a crash', async () => {
    const io = capture();
    expect(await run(['validate', '/nonexistent/spec.yaml'], io)).toBe(2);
    expect(io.err).toContain('cannot read the spec file (ENOENT)');
  });

  it('--help and unknown commands', async () => {
    const io = capture();
    expect(await run(['render', '--help'], io)).toBe(0);
    expect(io.out).toContain('Usage: airgap-k8s render');
    expect(await run(['frobnicate'], capture())).toBe(2);
    expect(await run(['render', '--bogus'], capture())).toBe(2);
  });
});

describe('airgap-k8s render', () => {
  it('warns when the secrets file lies in a git work tree that does not ignore it, and not once it is ignored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'render-git-'));
    execFileSync('git', ['init', '-q', dir]);
    const io = capture(dir);
    expect(await run(['render', join(FIXTURES, 'valid-runbook-ha.yaml'), '-o', 'out'], io)).toBe(0);
    expect(io.err).toContain(`WARNING: ${join(dir, 'airgap-k8s.secrets.yaml')} holds the cluster's secrets and is inside the git work tree ${dir} without being ignored there`);
    writeFileSync(join(dir, '.gitignore'), 'airgap-k8s.secrets.yaml\n');
    const again = capture(dir);
    expect(await run(['render', join(FIXTURES, 'valid-runbook-ha.yaml'), '-o', 'out'], again)).toBe(0);
    expect(again.err).not.toContain('WARNING');
    // this repository ignores the file a render here would make
    expect(spawnSync('git', ['-C', ROOT, 'check-ignore', '-q', 'airgap-k8s.secrets.yaml']).status).toBe(0);
  });

  it.each(['/proc/x', '/sys/x', '/etc/passwd/x', '/proc/self/status/out'])('-o %s (a place nothing can be written) fails at once: exit 1 naming the path, no secrets file made', async (out) => {
    const dir = mkdtempSync(join(tmpdir(), 'render-bad-'));
    const io = capture(dir);
    expect(await run(['render', join(FIXTURES, 'valid-runbook-ha.yaml'), '-o', out], io)).toBe(1);
    expect(io.err).toMatch(new RegExp(`^render: -o ${out}: .*${out.split('/').slice(0, 3).join('/')}`, 'm'));
    expect(existsSync(join(dir, 'airgap-k8s.secrets.yaml'))).toBe(false);
  });

  it('writes host and cluster files, creates a 0600 secrets file, secret files at 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'render-'));
    const io = capture(dir);
    expect(await run(['render', join(FIXTURES, 'valid-runbook-ha.yaml'), '-o', 'out'], io)).toBe(0);
    expect(statSync(join(dir, 'airgap-k8s.secrets.yaml')).mode & 0o777).toBe(0o600);
    expect(io.err).toContain('created');
    const tree = readTree(join(dir, 'out'));
    expect(tree.get('hosts/master1/etc/hostname')).toBe('master1\n');
    for (const [rel] of tree) {
      const mode = statSync(join(dir, 'out', rel)).mode & 0o777;
      const secretish = /kubeadm-|keepalived\.conf|pki\/ca\.key|secret/.test(rel);
      if (secretish) expect(mode, rel).toBe(0o600);
    }
    // a second render reuses the secrets: byte-identical output
    const first = new Map(tree);
    expect(await run(['render', join(FIXTURES, 'valid-runbook-ha.yaml'), '-o', 'out'], capture(dir))).toBe(0);
    expect(readTree(join(dir, 'out'))).toEqual(first);
  });

  it('without -o is a usage error', async () => {
    expect(await run(['render'], capture())).toBe(2);
  });
});

describe('the installed binary', () => {
  it('validate, plan and render start without the SSH, HTTP, SQLite and docker stacks (loaded only by the commands that use them)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bin-lazy-'));
    // a module hook that prints every file module the process loads
    writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('MOD ' + r.url + '\\n'); return r; }\n");
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`);
    const main = join(ROOT, 'src', 'cli', 'main.ts');
    const spec = join(FIXTURES, 'valid-rehearsal.yaml');
    for (const args of [['validate', spec], ['plan', spec], ['render', spec, '-o', join(dir, 'out'), '--secrets', join(dir, 's.yaml')]]) {
      const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), '--import', 'tsx', main, ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const mods = r.stderr.split('\n').filter((l) => l.startsWith('MOD '));
      expect(mods.some((m) => m.includes('/node_modules/zod/')), 'the hook sees modules').toBe(true);
      expect(mods.filter((m) => /\/node_modules\/(ssh2|hono|@hono|better-sqlite3|dockerode|testcontainers)\//.test(m)), args[0]).toEqual([]);
    }
  }, 60_000);

  it('runs with no spec on the embedded example and exits 2 on a bad spec', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bin-'));
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const main = join(ROOT, 'src', 'cli', 'main.ts');
    const ok = execFileSync(tsx, [main, 'render', '-o', join(dir, 'out'), '--secrets', join(dir, 's.yaml')], { encoding: 'utf8' });
    expect(ok).toContain('Cluster "gpu-prod"');
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: nope\n');
    const bad = spawnSync(tsx, [main, 'validate', join(dir, 'bad.yaml')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('apiVersion: unsupported apiVersion');
  }, 60_000);
});

describe('airgap-k8s plan and apply', () => {
  it('plan prints phases; --json has no file contents or secrets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const io = capture(dir);
    expect(await run(['plan', join(FIXTURES, 'valid-runbook-ha.yaml')], io)).toBe(0);
    expect(io.out).toMatch(/^Plan for Cluster "gpu-prod": \d+ phases, \d+ steps/);
    const j = capture(dir);
    expect(await run(['plan', '--json', join(FIXTURES, 'valid-runbook-ha.yaml')], j)).toBe(0);
    const plan = JSON.parse(j.out);
    expect(plan.phases[0].name).toBe('preflight');
    const secrets = readFileSync(join(dir, 'airgap-k8s.secrets.yaml'), 'utf8');
    const token = /bootstrapToken: (\S+)/.exec(secrets)![1]!;
    expect(j.out).not.toContain(token);
  });

  it('apply --executor dry-run runs the whole plan and prints progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apply-'));
    const io = capture(dir);
    expect(await run(['apply', join(FIXTURES, 'valid-runbook-ha.yaml'), '--executor', 'dry-run', '--script'], io)).toBe(0);
    // no bundle here: its verification, its uploads and the Calico manifest made from it are skipped, and said so
    expect(io.err).toContain('note: no offline bundle at /data/k8s (--bundle DIR): the dry run skips');
    expect(io.out).toMatch(/done in [\d.]+s: \d+ changed, \d+ skipped, 0 failed/);
    expect(io.out).toContain('kubeadm init --config /etc/kubernetes/airgap-k8s/kubeadm-init.yaml --upload-certs');
  });

  it('apply needs a known executor', async () => {
    expect(await run(['apply', '--executor', 'teleport'], capture())).toBe(2);
  });
});
