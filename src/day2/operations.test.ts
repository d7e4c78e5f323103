// The day-two operations' plans (etcd snapshot/restore, certificate renewal, reset) on their own: order, what is
// destructive, what they read, and that no secret or spliced value reaches a shell. Their real runs are in the
// cluster e2e tier (test/e2e/day2.ts).
import { describe, expect, it } from 'vitest';
import { loadFixture, testInputs } from '../../test/support/fixtures.js';
import { deriveView } from '../spec/derive.js';
import { planFor } from '../plan/build.js';
import { formatPlan } from '../plan/format.js';
import type { Plan, Step } from '../plan/types.js';
import { secretValues } from '../runner/redact.js';
import { etcdRestorePlan, etcdSnapshotPlan } from './etcd.js';
import { certsRenewPlan, formatExpiries, parseCheckExpiration, pemExpiry } from './certs.js';
import { resetPlan } from './reset.js';
import { upgradePlan, upgradeRefusals, UpgradeRefusedError } from './upgrade.js';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const view = deriveView(loadFixture('rehearsal'));
const steps = (p: Plan): Step[] => p.phases.flatMap((ph) => ph.steps);
const SHA = 'ab'.repeat(32);

describe('etcd', () => {
  it('snapshot: saved on the chosen control plane, checked there, fetched here, removed there; nothing destructive', () => {
    const p = etcdSnapshotPlan(view, '/backup/etcd.db', view.controlPlanes[1]);
    expect(steps(p).map((s) => [s.id, s.kind])).toEqual([
      ['etcd-snapshot/cp2/save', 'exec'],
      ['etcd-snapshot/cp2/status', 'exec'],
      ['etcd-snapshot/cp2/fetch', 'fetch-file'],
      ['etcd-snapshot/cp2/clean', 'exec'],
    ]);
    expect(steps(p).filter((s) => s.destructive)).toEqual([]);
    expect(formatPlan(p)).toContain('/var/lib/etcd/airgap-k8s-snapshot.db -> /backup/etcd.db (this machine, 0600, sha256 checked)');
  });

  it('restore: the snapshot on every member, all stopped before any data is replaced, etcd healthy before any API server starts', () => {
    const p = etcdRestorePlan(view, '/backup/etcd.db', SHA);
    const ids = steps(p).map((s) => s.id);
    const last = (prefix: RegExp) => Math.max(...ids.map((id, i) => (prefix.test(id) ? i : -1)));
    const first = (prefix: RegExp) => ids.findIndex((id) => prefix.test(id));
    expect(p.phases[0]!.ordered).toBe(true);
    expect(last(/\/snapshot$/)).toBeLessThan(first(/\/stop$/));
    expect(last(/\/stopped$/)).toBeLessThan(first(/\/data$/));
    expect(last(/\/data$/)).toBeLessThan(first(/\/start-etcd$/));
    expect(last(/\/etcd-healthy$/)).toBeLessThan(first(/\/start-apiserver$/));
    expect(last(/\/apiserver-ready$/)).toBeLessThan(first(/\/restart\/controllers$/));
    // every member made from the same snapshot, into the same new cluster, with its own name and peer URL
    const data = steps(p).filter((s): s is Extract<Step, { kind: 'exec' }> => s.id.endsWith('/data'));
    expect(data.map((s) => s.argv.slice(-7, -2))).toEqual(
      view.controlPlanes.map((h) => [
        '/var/lib/airgap-k8s-restore/snapshot.db',
        h.name,
        `https://${h.address}:2380`,
        view.controlPlanes.map((c) => `${c.name}=https://${c.address}:2380`).join(','),
        `airgap-k8s-restore-${SHA.slice(0, 12)}`,
      ]),
    );
    // what destroys: stopping the control plane and replacing the data; nothing else
    expect(steps(p).filter((s) => s.destructive).map((s) => s.id.split('/')[2])).toEqual(['stop', 'stop', 'stop', 'data', 'data', 'data']);
    const push = steps(p).find((s) => s.kind === 'push-file')!;
    expect(push).toMatchObject({ from: '/backup/etcd.db', sha256: SHA, mode: 0o600, probe: { kind: 'file', sha256: SHA } });
  });
});

describe('certificates', () => {
  it('renew: one control plane at a time; on each: renew, etcd (healthy again), kube-apiserver (ready again), then the controllers', () => {
    const p = certsRenewPlan(view);
    expect(p.phases[0]!.ordered).toBe(true);
    expect(steps(p).map((s) => s.id)).toEqual(
      view.controlPlanes.flatMap((h) => ['renew', 'restart/etcd', 'etcd-healthy', 'restart/kube-apiserver', 'apiserver-ready', 'restart/controllers'].map((x) => `certs-renew/${h.name}/${x}`)),
    );
  });

  it('check: kubeadm\'s JSON and a PEM read into one table; missing and soon-expiring ones said so', () => {
    const json = JSON.stringify({
      kind: 'CertificateExpirationInfo',
      apiVersion: 'output.kubeadm.k8s.io/v1alpha2',
      certificates: [
        { name: 'apiserver', expirationDate: '2027-12-04T08:36:52Z', residualTime: 1, caName: 'ca', externallyManaged: false },
        { name: 'super-admin.conf', missing: true },
        { name: 'front-proxy-client', expirationDate: '2026-12-20T00:00:00Z' },
      ],
      certificateAuthorities: [{ name: 'ca', expirationDate: '2036-12-01T08:33:39Z' }],
    });
    const rows = parseCheckExpiration('cp1', json);
    expect(rows.map((r) => [r.name, r.ca, r.notAfter, r.note])).toEqual([
      ['ca', true, '2036-12-01T08:33:39.000Z', undefined],
      ['apiserver', false, '2027-12-04T08:36:52.000Z', undefined],
      ['super-admin.conf', false, null, 'missing'],
      ['front-proxy-client', false, '2026-12-20T00:00:00.000Z', undefined],
    ]);
    const text = formatExpiries(rows, new Date('2026-12-04T00:00:00Z'));
    expect(text).toMatch(/cp1 +front-proxy-client +2026-12-20T00:00:00Z +16 {2}<- renew soon/);
    expect(text).toMatch(/super-admin\.conf +- +missing/);
    expect(text).toMatch(/1 certificate expire within 30 days: airgap-k8s certs renew/);
  });

  it('a kubelet PEM (certificate and key in one file): the certificate\'s notAfter, the key ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pem-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365', '-subj', '/CN=system:node:w1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    const both = `${cert}${readFileSync(join(dir, 'k.pem'), 'utf8')}`;
    const r = pemExpiry('w1', 'kubelet client', both);
    expect(r.notAfter).toBe(new Date(new X509Certificate(cert).validTo).toISOString());
    expect(pemExpiry('w1', 'kubelet client', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).note).toBe('no certificate found');
  });
});

describe('reset', () => {
  const install = planFor(view, testInputs());
  it('workers in parallel first, then the control planes one at a time, the first one last; every step destructive', () => {
    const r = resetPlan(view, install, { purge: false });
    expect(r.plan.phases.map((p) => [p.name, p.serial, p.ordered ?? false])).toEqual([
      ['reset-workers', false, false],
      ['reset-control-planes', true, true],
    ]);
    const cpOrder = [...new Set(r.plan.phases[1]!.steps.map((s) => s.host))];
    expect(cpOrder).toEqual(['cp2', 'cp3', 'cp1']);
    expect(steps(r.plan).every((s) => s.destructive)).toBe(true);
    expect(r.leaves.join('\n')).toMatch(/packages the install put there/);
  });

  it('removes exactly the files the install wrote on each host (not /etc/hostname), and says so when it is done', () => {
    const r = resetPlan(view, install, { purge: false });
    const files = steps(r.plan).find((s) => s.id === 'reset-control-planes/cp1/files') as Extract<Step, { kind: 'exec' }>;
    const written = steps(install).filter((s): s is Extract<Step, { kind: 'write-file' }> => s.host === 'cp1' && s.kind === 'write-file').map((s) => s.path);
    expect(files.argv.slice(3).sort()).toEqual(written.filter((f) => f !== '/etc/hostname').sort());
    expect(files.argv.slice(3)).toContain('/etc/haproxy/haproxy.cfg');
    expect(files.probe).toMatchObject({ kind: 'command' });
  });

  it('--purge: images, the install\'s packages and the host\'s bundle too; less is left', () => {
    const r = resetPlan(view, install, { purge: true });
    const w1 = steps(r.plan).filter((s) => s.host === 'w1').map((s) => s.id.split('/')[2]);
    expect(w1).toEqual(['kubeadm-reset', 'files', 'images', 'packages', 'bundle']);
    const pk = steps(r.plan).find((s) => s.id === 'reset-workers/w1/packages') as Extract<Step, { kind: 'exec' }>;
    expect(pk.argv).toContain('kubeadm');
    expect(pk.argv).toContain('containerd');
    expect(r.leaves.join('\n')).not.toMatch(/packages the install put there/);
  });
});

it('no day-two plan carries a secret', () => {
  const secrets = secretValues((testInputs() as unknown as { secrets: Parameters<typeof secretValues>[0] }).secrets).filter((v) => v.length >= 8);
  expect(secrets.length).toBeGreaterThan(3);
  const texts = [etcdSnapshotPlan(view, '/b'), etcdRestorePlan(view, '/b', SHA), certsRenewPlan(view), resetPlan(view, planFor(view, testInputs()), { purge: true }).plan].map((p) => JSON.stringify(p));
  for (const t of texts) for (const v of secrets) expect(t.includes(v)).toBe(false);
});

describe('upgrade', () => {
  const viewAt = (version: string, text?: string) => {
    const spec = loadFixture('rehearsal');
    return deriveView({ ...spec, spec: { ...spec.spec, kubernetesVersion: version, ...(text === 'no-w1' ? { hosts: spec.spec.hosts.filter((h) => h.name !== 'w1') } : {}) } });
  };
  const at = (version: string) => {
    const v = viewAt(version);
    return { view: v, plan: planFor(v, testInputs()) };
  };

  it('v1.34.3 -> v1.34.4 in kubeadm\'s order: bundle and images first, the first control plane (kubeadm, upgrade plan, upgrade apply, drain, kubelet, Ready, uncordon), the others, then the workers one at a time', () => {
    const p = upgradePlan(at('v1.34.3'), at('v1.34.4'));
    expect(p.phases.map((ph) => ph.name)).toEqual(['preflight', 'distribute', 'container-runtime', 'upgrade-first-control-plane', 'upgrade-control-planes', 'upgrade-workers', 'verify']);
    expect(p.phases[3]!.steps.map((s) => s.id)).toEqual([
      'upgrade-first-control-plane/cp1/kubeadm',
      'upgrade-first-control-plane/cp1/upgrade-plan',
      'upgrade-first-control-plane/cp1/upgrade-apply',
      'upgrade-first-control-plane/cluster/cp1/drain',
      'upgrade-first-control-plane/cp1/kubelet',
      'upgrade-first-control-plane/cluster/cp1/ready',
      'upgrade-first-control-plane/cluster/cp1/uncordon',
    ]);
    expect(p.phases[4]!.steps.map((s) => s.id.split('/').slice(-2).join('/'))).toEqual(['cp2/kubeadm', 'cp2/upgrade-node', 'cp2/drain', 'cp2/kubelet', 'cp2/ready', 'cp2/uncordon', 'cp3/kubeadm', 'cp3/upgrade-node', 'cp3/drain', 'cp3/kubelet', 'cp3/ready', 'cp3/uncordon']);
    expect(p.phases.slice(3, 6).every((ph) => ph.ordered)).toBe(true);
    const apply = steps(p).find((s) => s.id.endsWith('/upgrade-apply')) as Extract<Step, { kind: 'exec' }>;
    expect(apply.argv).toEqual(['kubeadm', 'upgrade', 'apply', 'v1.34.4', '--yes']);
    // the new version's images and packages come from the bundle
    expect(steps(p).some((s) => s.kind === 'upload' && s.localPath === 'images')).toBe(true);
    expect((steps(p).find((s) => s.kind === 'import-images') as Extract<Step, { kind: 'import-images' }>).images).toContain('registry.k8s.io/kube-apiserver:v1.34.4');
    // no cgroup check below 1.35
    expect(steps(p).filter((s) => s.id.includes('/cgroup-for-'))).toEqual([]);
  });

  it('to v1.35: planned, with a cgroup preflight on every node (1.35 refuses cgroup v1 unless failCgroupV1 is false)', () => {
    const p = upgradePlan(at('v1.34.3'), at('v1.35.0'));
    expect(steps(p).filter((s) => s.id.includes('/cgroup-for-v1.35.0')).map((s) => s.host)).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    expect((steps(p).find((s) => s.kind === 'import-images') as Extract<Step, { kind: 'import-images' }>).images).toEqual(expect.arrayContaining(['registry.k8s.io/etcd:3.6.6-0', 'registry.k8s.io/coredns/coredns:v1.13.1']));
  });

  it('refused up front, every reason: a downgrade, a skipped minor, the same version, another change with it', () => {
    expect(upgradeRefusals(viewAt('v1.34.4'), viewAt('v1.34.3')).join('\n')).toMatch(/is a downgrade/);
    expect(upgradeRefusals(viewAt('v1.34.3'), viewAt('v1.36.0')).join('\n')).toMatch(/skips v1\.35: kubeadm upgrades one minor version at a time/);
    expect(upgradeRefusals(viewAt('v1.34.3'), viewAt('v1.34.3')).join('\n')).toMatch(/already runs v1\.34\.3/);
    const both = upgradeRefusals(viewAt('v1.34.3'), viewAt('v1.34.4', 'no-w1'));
    expect(both.join('\n')).toMatch(/hosts added or removed; apply that change before or after the upgrade/);
    expect(() => upgradePlan(at('v1.34.3'), { view: viewAt('v1.36.0'), plan: at('v1.34.4').plan })).toThrow(UpgradeRefusedError);
  });
});
