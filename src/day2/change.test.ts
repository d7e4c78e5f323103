// Day two by editing the spec, on plans alone: what an apply runs on a cluster applied before (src/day2/change.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, testInputs } from '../../test/support/fixtures.js';
import { parseSpec } from '../spec/load.js';
import { deriveView } from '../spec/derive.js';
import { planFor } from '../plan/build.js';
import { formatPlan } from '../plan/format.js';
import type { Plan } from '../plan/types.js';
import { changePlan, ChangeRefusedError, HOST_RESET_SCRIPT, refusals, type Applied } from './change.js';
import { diffPlans, formatDiff } from './diff.js';

const REHEARSAL = readFileSync(join(FIXTURES, 'valid-rehearsal.yaml'), 'utf8');
const W1 = '    - {name: w1, address: 10.250.0.21, roles: [worker], interface: eth0, os: debian12}\n';
const CP3 = '    - {name: cp3, address: 10.250.0.13, roles: [control-plane, load-balancer], interface: eth0, os: debian12}\n';
const withW2 = REHEARSAL.replace(W1, `${W1}    - {name: w2, address: 10.250.0.22, roles: [worker], interface: eth0, os: debian12}\n`);
const withSnapshots = REHEARSAL.replace('\nspec:\n', '\nspec:\n  etcd: {snapshots: {enabled: true}}\n');
const withCp4 = REHEARSAL.replace(CP3, `${CP3}    - {name: cp4, address: 10.250.0.14, roles: [control-plane, load-balancer], interface: eth0, os: debian12}\n`);

function applied(text: string): Applied {
  const r = parseSpec(text);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  const view = deriveView(r.spec);
  return { view, plan: planFor(view, testInputs()) };
}
const ids = (p: Plan) => p.phases.flatMap((ph) => ph.steps.map((s) => s.id));

describe('adding hosts plans only what the new host needs and what names it elsewhere', () => {
  it('a worker: its own preparation and join, /etc/hosts on the others, the join token renewed; the load balancers untouched', () => {
    const c = changePlan(applied(REHEARSAL), applied(withW2));
    const run = ids(c.plan);
    expect(c.diff.addedHosts).toEqual(['w2']);
    expect(c.destructive).toEqual([]);
    expect(run).toContain('workers/w2/kubeadm-join');
    expect(run).toContain('distribute/w2/upload/images');
    expect(run).toContain('first-control-plane/cp1/bootstrap-token');
    for (const h of ['cp1', 'cp2', 'cp3', 'w1']) {
      expect(run).toContain(`prepare-os/${h}/file/etc/hosts.d/airgap-k8s.hosts`);
      // nothing else of theirs: no packages, no containerd, no join again
      expect(run.filter((id) => id.split('/')[1] === h && !/^(preflight|prepare-os)\//.test(id))).toEqual(h === 'cp1' ? ['first-control-plane/cp1/bootstrap-token', 'first-control-plane/cp1/upload-certs'] : []);
    }
    expect(run.filter((id) => id.startsWith('load-balancer/'))).toEqual([]);
    expect(run.filter((id) => /^(cni|addons|environments)\//.test(id))).toEqual([]);
    // the checks around it: the bundle (w2's uploads come from it), the touched hosts, the cluster's verify
    expect(run).toContain('preflight/local/bundle');
    expect(run).toContain('preflight/w2/host');
    expect(run).toContain('verify/cluster/nodes-ready');
    expect(c.plan.phases.find((p) => p.name === 'remove-nodes')).toBeUndefined();
  });

  it('a control plane: haproxy and keepalived on every load balancer change (and restart), the certificates are uploaded again', () => {
    const c = changePlan(applied(REHEARSAL), applied(withCp4));
    const run = ids(c.plan);
    for (const lb of ['cp1', 'cp2', 'cp3']) {
      expect(run).toContain(`load-balancer/${lb}/file/etc/haproxy/haproxy.cfg`);
      expect(run).toContain(`load-balancer/${lb}/service/haproxy/restart`);
    }
    expect(run).toContain('control-planes/cp4/kubeadm-join');
    expect(run).toContain('first-control-plane/cp1/upload-certs');
    expect(run).not.toContain('control-planes/cp2/kubeadm-join');
  });

  it('the same spec again: nothing runs, not even the checks', () => {
    const c = changePlan(applied(REHEARSAL), applied(REHEARSAL));
    expect(c.plan.phases).toEqual([]);
    expect(formatDiff('rehearsal', c.diff)).toMatch(/no changes/);
  });

  it('--full: every step of the new plan, plus the removals', () => {
    const c = changePlan(applied(withW2), applied(REHEARSAL), { full: true });
    const whole = applied(REHEARSAL).plan;
    expect(ids(c.plan).filter((id) => !id.startsWith('remove-nodes/'))).toEqual(ids(whole));
    expect(ids(c.plan).filter((id) => id.startsWith('remove-nodes/'))).toHaveLength(3);
  });
});

describe('turning a feature off retires what the last apply put on the hosts that stay', () => {
  it('snapshots off: the timer disabled and stopped, the script and units removed, systemd reloaded, per control plane', () => {
    expect(withSnapshots).not.toBe(REHEARSAL);
    const c = changePlan(applied(withSnapshots), applied(REHEARSAL));
    const run = ids(c.plan);
    for (const cp of ['cp1', 'cp2', 'cp3']) {
      const mine = run.filter((id) => id.split('/')[1] === cp && id.includes('/retire/'));
      expect(mine[0]).toMatch(new RegExp(`^(first-control-plane|control-planes)/${cp}/retire/service/airgap-k8s-etcd-snapshot\\.timer$`));
      expect(mine.filter((id) => id.includes('/retire/file/'))).toHaveLength(3);
      expect(mine.at(-1)).toMatch(/\/retire\/daemon-reload$/);
      expect(run).toContain(`preflight/${cp}/host`);
    }
    // a worker never had them; nothing destructive; the snapshots already taken stay (their directory is not touched)
    expect(run.filter((id) => id.includes('/w1/retire/'))).toEqual([]);
    expect(c.destructive).toEqual([]);
    const argvs = c.plan.phases.flatMap((p) => p.steps).flatMap((s) => (s.kind === 'exec' ? [s.argv.join(' ')] : []));
    expect(argvs.some((a) => a.includes('/var/backups/etcd'))).toBe(false);
    // the reload is a handler of the unit files' removal: it runs only when one of them was still there
    const reload = c.plan.phases.flatMap((p) => p.steps).find((s) => s.id.endsWith('cp2/retire/daemon-reload'))!;
    expect(reload.onChangeOf).toEqual(run.filter((id) => id.startsWith('control-planes/cp2/retire/file/etc/systemd/')));
  });

  it('turning it on again and off again plans the same retirement; keeping it on retires nothing', () => {
    expect(ids(changePlan(applied(withSnapshots), applied(withSnapshots)).plan)).toEqual([]);
    const on = changePlan(applied(REHEARSAL), applied(withSnapshots));
    expect(ids(on.plan).filter((id) => id.includes('/retire/'))).toEqual([]);
    expect(ids(on.plan)).toContain('first-control-plane/cp1/service/airgap-k8s-etcd-snapshot.timer/enable');
  });

  it('a host removed from the spec is reset, not retired', () => {
    const withW2Snap = withSnapshots.replace(W1, `${W1}    - {name: w2, address: 10.250.0.22, roles: [worker], interface: eth0, os: debian12}\n`);
    const c = changePlan(applied(withW2Snap), applied(withSnapshots));
    expect(ids(c.plan).filter((id) => id.includes('/retire/'))).toEqual([]);
  });
});

describe('removing hosts: drained, reset, deleted, one step at a time, each destructive step named', () => {
  it('a worker: drain -> kubeadm reset on it -> delete the Node, in one ordered phase; the load balancers untouched', () => {
    const c = changePlan(applied(withW2), applied(REHEARSAL));
    expect(c.removed.map((h) => h.name)).toEqual(['w2']);
    const phase = c.plan.phases.find((p) => p.name === 'remove-nodes')!;
    expect(phase.ordered).toBe(true);
    expect(phase.steps.map((s) => [s.id, s.host])).toEqual([
      ['remove-nodes/cluster/w2/drain', null],
      ['remove-nodes/w2/reset', 'w2'],
      ['remove-nodes/cluster/w2/delete-node', null],
    ]);
    expect(c.destructive.map((s) => s.id)).toEqual(phase.steps.map((s) => s.id));
    expect(ids(c.plan).filter((id) => id.startsWith('load-balancer/'))).toEqual([]);
    // the plan says what is destructive and in which order
    const text = formatPlan(c.plan);
    expect(text).toMatch(/remove-nodes \(one step at a time, in order/);
    expect(text.match(/\[DESTRUCTIVE\]/g)).toHaveLength(3);
    expect(formatDiff('rehearsal', c.diff)).toMatch(/hosts removed: w2 \(drained, reset and deleted from the cluster: needs --yes\)/);
  });

  it('a control plane: the other etcd members checked healthy first, its etcd member removed for sure, and it leaves haproxy', () => {
    const c = changePlan(applied(withCp4), applied(REHEARSAL));
    const phase = c.plan.phases.find((p) => p.name === 'remove-nodes')!;
    expect(phase.steps.map((s) => s.id)).toEqual([
      'remove-nodes/cluster/cp4/etcd-quorum',
      'remove-nodes/cluster/cp4/drain',
      'remove-nodes/cp4/reset',
      'remove-nodes/cluster/cp4/etcd-member',
      'remove-nodes/cluster/cp4/delete-node',
    ]);
    expect(phase.steps[0]!.destructive).toBeUndefined();
    expect(phase.steps[2]!.description).toMatch(/keepalived, haproxy/);
    expect(ids(c.plan)).toContain('load-balancer/cp1/file/etc/haproxy/haproxy.cfg');
    // load balancers change before the removal: haproxy stops sending to it first
    const order = c.plan.phases.map((p) => p.name);
    expect(order.indexOf('load-balancer')).toBeLessThan(order.indexOf('remove-nodes'));
  });

  it('workers are removed before control planes', () => {
    const both = withCp4.replace(W1, `${W1}    - {name: w2, address: 10.250.0.22, roles: [worker], interface: eth0, os: debian12}\n`);
    const steps = changePlan(applied(both), applied(REHEARSAL)).plan.phases.find((p) => p.name === 'remove-nodes')!.steps;
    expect(steps[0]!.id).toBe('remove-nodes/cluster/w2/drain');
    expect(steps.at(-1)!.id).toBe('remove-nodes/cluster/cp4/delete-node');
  });
});

describe('scheduled etcd snapshots on day two', () => {
  const withSnapshots = `${REHEARSAL.trimEnd()}\n  etcd:\n    snapshots: {enabled: true, schedule: "*-*-* 03:00:00", keep: 3}\n`;

  it('turned on: the control planes get the script, the units, a daemon-reload and the timer, nothing else runs but the checks', () => {
    const c = changePlan(applied(REHEARSAL), applied(withSnapshots));
    const run = ids(c.plan).filter((id) => !/^(preflight|verify)\//.test(id));
    expect(c.destructive).toEqual([]);
    expect(run.every((id) => /^(first-control-plane\/cp1|control-planes\/cp[23])\/(file\/etc\/systemd\/system\/airgap-k8s-etcd-snapshot\.(service|timer)|file\/usr\/local\/lib\/airgap-k8s\/etcd-snapshot\.sh|etcd-backup\/daemon-reload|service\/airgap-k8s-etcd-snapshot\.timer\/(enable|restart))$/.test(id)), run.join('\n')).toBe(true);
    expect(run.filter((id) => id.endsWith('/daemon-reload'))).toEqual(['first-control-plane/cp1/etcd-backup/daemon-reload', 'control-planes/cp2/etcd-backup/daemon-reload', 'control-planes/cp3/etcd-backup/daemon-reload']);
  });

  it('a new schedule: the timer file again, systemd re-reads it, the timer restarted; the script untouched', () => {
    const c = changePlan(applied(withSnapshots), applied(withSnapshots.replace('*-*-* 03:00:00', 'hourly')));
    const run = ids(c.plan).filter((id) => id.startsWith('control-planes/cp2/'));
    expect(run).toEqual([
      'control-planes/cp2/file/etc/systemd/system/airgap-k8s-etcd-snapshot.timer',
      'control-planes/cp2/etcd-backup/daemon-reload',
      'control-planes/cp2/service/airgap-k8s-etcd-snapshot.timer/restart',
    ]);
  });

  it('a host reset (removal or reset) stops and disables the timer with kubelet', () => {
    expect(HOST_RESET_SCRIPT).toContain('systemctl disable --now airgap-k8s-etcd-snapshot.timer 2>/dev/null || true');
    // the CNI config directory is emptied, never removed: containerd's watch on it would be lost for a later join
    expect(HOST_RESET_SCRIPT).not.toMatch(/rm -rf[^\n]* \/etc\/cni\/net\.d( |$)/m);
    expect(HOST_RESET_SCRIPT).toContain('find /etc/cni/net.d -mindepth 1 -delete');
  });
});

describe('changes a running cluster cannot take are refused before anything runs, all reasons at once', () => {
  it('endpoint, subnets, a host\'s address and role, the version, the first control plane, too many control planes at once', () => {
    const changed = REHEARSAL.replace('endpoint: {host: 10.250.0.100, port: 6553}', 'endpoint: {host: 10.250.0.101, port: 6553}')
      .replace('podSubnet: 10.244.0.0/16', 'podSubnet: 10.245.0.0/16')
      .replace('{name: w1, address: 10.250.0.21, roles: [worker]', '{name: w1, address: 10.250.0.29, roles: [worker]')
      .replace('kubernetesVersion: v1.34.3', 'kubernetesVersion: v1.34.4');
    const problems = refusals(applied(REHEARSAL).view, applied(changed).view);
    expect(problems.join('\n')).toMatch(/spec\.controlPlane\.endpoint: cannot change/);
    expect(problems.join('\n')).toMatch(/spec\.network\.podSubnet: cannot change/);
    expect(problems.join('\n')).toMatch(/spec\.hosts\[3\]\.address: w1 was applied at 10\.250\.0\.21/);
    expect(problems.join('\n')).toMatch(/spec\.kubernetesVersion: v1\.34\.3 -> v1\.34\.4 is an upgrade/);
    expect(problems).toHaveLength(4);
    expect(() => changePlan(applied(REHEARSAL), applied(changed))).toThrow(ChangeRefusedError);

    const role = REHEARSAL.replace('{name: w1, address: 10.250.0.21, roles: [worker]', '{name: w1, address: 10.250.0.21, roles: [control-plane]');
    expect(refusals(applied(REHEARSAL).view, applied(role).view).join('\n')).toMatch(/spec\.hosts\[3\]\.roles: w1 changes between control plane and worker/);

    // two of three control planes at once; the first control plane of the new spec is not one of the cluster's
    const five = REHEARSAL.replace(CP3, `${CP3}    - {name: cp4, address: 10.250.0.14, roles: [control-plane, load-balancer], interface: eth0, os: debian12}\n    - {name: cp5, address: 10.250.0.15, roles: [control-plane, load-balancer], interface: eth0, os: debian12}\n`);
    // (one control plane left is not a valid HA spec, but the rule stands on its own)
    const three = applied(REHEARSAL).view;
    const one = deriveView({ ...three.cluster, spec: { ...three.cluster.spec, hosts: three.cluster.spec.hosts.filter((h) => h.name !== 'cp2' && h.name !== 'cp3') } });
    expect(refusals(three, one).join('\n')).toMatch(/removing 2 of 3 control planes at once \(cp2, cp3\).*at most 1 per apply/);
    expect(refusals(applied(five).view, applied(withCp4).view)).toEqual([]);
    const newFirst = REHEARSAL.replace(/ {4}- \{name: cp1.*\n/, '    - {name: cp9, address: 10.250.0.19, roles: [control-plane, load-balancer], interface: eth0, os: debian12}\n');
    expect(refusals(applied(REHEARSAL).view, applied(newFirst).view).join('\n')).toMatch(/the first control plane \(cp9\) runs the cluster steps and must be a control plane of the running cluster/);
  });
});

describe('diff', () => {
  it('per host: + added, ~ changed, - removed; read-only checks are not differences', () => {
    const d = diffPlans(applied(REHEARSAL).plan, applied(withW2).plan);
    expect(d.removed).toEqual([]);
    expect(new Set(d.added.map((c) => c.host))).toEqual(new Set(['w2']));
    expect(d.added.map((c) => c.id)).toContain('workers/w2/kubeadm-join');
    expect(d.changed.map((c) => c.id)).toContain('prepare-os/w1/file/etc/hosts.d/airgap-k8s.hosts');
    expect(d.changed.map((c) => c.id)).not.toContain('verify/cluster/nodes-ready');
    const text = formatDiff('rehearsal', d);
    expect(text).toMatch(/^w2:\n {2}\+ distribute\/w2\/upload/m);
    expect(text).toMatch(/^w1:\n {2}~ prepare-os\/w1\/file\/etc\/hosts\.d\/airgap-k8s\.hosts/m);
    expect(text).toMatch(/hosts added: {3}w2/);
  });
});
