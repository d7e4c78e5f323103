// Day two through the CLI in-process (dry-run executor; the real runs are in the cluster e2e tier): diff against the
// state the last apply left, apply refusing destructive steps without --yes, upgrade's plan and refusals.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands.js';
import { writeApplied } from '../../src/cli/state.js';
import { prepareInstall } from '../../src/install/index.js';
import { deriveView } from '../../src/spec/derive.js';
import { parseSecrets } from '../../src/secrets/secrets.js';
import { FIXTURES, loadFixture } from '../support/fixtures.js';
import { capture } from '../support/capture.js';

const REHEARSAL = readFileSync(join(FIXTURES, 'valid-rehearsal.yaml'), 'utf8');
const W1 = '    - {name: w1, address: 10.250.0.21, roles: [worker], interface: eth0, os: debian12}\n';
const WITH_W2 = REHEARSAL.replace(W1, `${W1}    - {name: w2, address: 10.250.0.22, roles: [worker], interface: eth0, os: debian12}\n`);

/** A directory where the cluster was applied with w2 (its state record as `apply` leaves it), specs beside it. */
function appliedWithW2(): { dir: string; args: string[]; spec: (text: string, name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'day2-cli-'));
  copyFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), join(dir, 'secrets.yaml'));
  const secrets = parseSecrets(readFileSync(join(dir, 'secrets.yaml'), 'utf8'));
  if (!secrets.ok) throw new Error('test secrets');
  const spec = loadFixture('rehearsal');
  const view = deriveView({ ...spec, spec: { ...spec.spec, hosts: [...spec.spec.hosts, { ...spec.spec.hosts[3]!, name: 'w2', address: '10.250.0.22' }] } });
  writeApplied(join(dir, 'rehearsal.applied.json'), view, prepareInstall({ view, secrets: secrets.secrets, executor: 'dry-run', bundleDir: join(dir, 'no-bundle') }).fullPlan);
  return {
    dir,
    args: ['--secrets', join(dir, 'secrets.yaml'), '--journal', join(dir, 'journal.json'), '--bundle', join(dir, 'no-bundle')],
    spec: (text, name) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    },
  };
}

describe('diff and apply on a cluster applied before', () => {
  it('diff: w2 gone from the spec is a removal, with its destructive steps; the same spec again is no change', async () => {
    const a = appliedWithW2();
    const io = capture();
    expect(await run(['diff', a.spec(REHEARSAL, 'now.yaml'), ...a.args, '--executor', 'dry-run'], io)).toBe(0);
    expect(io.out).toMatch(/hosts removed: w2/);
    expect(io.out).toMatch(/destructive \(apply needs --yes\):\n {2}remove-nodes\/cluster\/w2\/drain/);
    const same = capture();
    expect(await run(['plan', a.spec(WITH_W2, 'same.yaml'), '--diff', ...a.args], same)).toBe(0);
    expect(same.out).toMatch(/no changes/);
  });

  it('apply without --yes: exit 2, the destructive steps listed, nothing run; with --yes the dry run runs the removal', async () => {
    const a = appliedWithW2();
    const spec = a.spec(REHEARSAL, 'now.yaml');
    const refused = capture();
    expect(await run(['apply', spec, '--executor', 'dry-run', ...a.args], refused)).toBe(2);
    expect(refused.err).toMatch(/3 destructive steps; run again with --yes to confirm them \(nothing was started\)/);
    expect(refused.out).not.toMatch(/== /);
    const ok = capture();
    expect(await run(['apply', spec, '--executor', 'dry-run', '--yes', ...a.args], ok)).toBe(0);
    expect(ok.out).toMatch(/== remove-nodes/);
    expect(ok.out).not.toMatch(/== load-balancer/);
  });

  it('a change the running cluster cannot take: exit 2 with every reason; a broken state file: exit 2 saying so', async () => {
    const a = appliedWithW2();
    const io = capture();
    expect(await run(['apply', a.spec(WITH_W2.replace('podSubnet: 10.244.0.0/16', 'podSubnet: 10.245.0.0/16'), 'x.yaml'), '--executor', 'dry-run', ...a.args], io)).toBe(2);
    expect(io.err).toMatch(/spec\.network\.podSubnet: cannot change on a running cluster/);
    writeFileSync(join(a.dir, 'rehearsal.applied.json'), '{"kind": "Something"}');
    const broken = capture();
    expect(await run(['apply', a.spec(WITH_W2, 'y.yaml'), '--executor', 'dry-run', ...a.args], broken)).toBe(2);
    expect(broken.err).toMatch(/is not an airgap-k8s applied-state record/);
  });
});

describe('upgrade', () => {
  it('--plan prints kubeadm\'s order; hosts changed with it are refused with exit 2; the version already applied is nothing to do (exit 0)', async () => {
    const a = appliedWithW2();
    const io = capture();
    expect(await run(['upgrade', a.spec(WITH_W2.replace('v1.34.3', 'v1.34.4'), 'up.yaml'), '--plan', ...a.args], io)).toBe(0);
    expect(io.out).toMatch(/upgrade v1\.34\.3 -> v1\.34\.4/);
    expect(io.out.indexOf('upgrade-first-control-plane')).toBeLessThan(io.out.indexOf('upgrade-workers'));
    const same = capture();
    // a second run after the upgrade finished (its state holds the version): nothing runs, exit 0
    expect(await run(['upgrade', a.spec(WITH_W2, 'same.yaml'), ...a.args], same)).toBe(0);
    expect(same.out).toMatch(/already runs v1\.34\.3 .*nothing to upgrade/);
    expect(same.out).not.toMatch(/==/);
    // the same version with another change is still refused: an upgrade is only an upgrade
    const sameButMore = capture();
    expect(await run(['upgrade', a.spec(REHEARSAL, 'same-less.yaml'), '--plan', ...a.args], sameButMore)).toBe(2);
    expect(sameButMore.err).toMatch(/already runs v1\.34\.3/);
    expect(sameButMore.err).toMatch(/hosts added or removed/);
    const fewer = capture();
    expect(await run(['upgrade', a.spec(REHEARSAL.replace('v1.34.3', 'v1.34.4'), 'f.yaml'), '--plan', ...a.args], fewer)).toBe(2);
    expect(fewer.err).toMatch(/hosts added or removed/);
  });
});
