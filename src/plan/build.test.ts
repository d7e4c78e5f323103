// The planner on its own: units in, steps out (phases, ordering by declared dependencies, handlers, waits), and the
// plan's shape independent of whether the offline bundle is here.
import { describe, expect, it } from 'vitest';
import { loadFixture, testInputs, validFixtureNames } from '../../test/support/fixtures.js';
import { deriveView } from '../spec/derive.js';
import { renderUnits, renderView } from '../generators/index.js';
import type { ClusterUnit, HostUnit, Unit } from '../generators/types.js';
import { clusterFile, filesOf, hostFile } from '../generators/types.js';
import { orderClusterUnits, planFor, planFromUnits } from './build.js';
import type { Step } from './types.js';

const steps = (units: Unit[], fixture = 'runbook-single') => planFromUnits(deriveView(loadFixture(fixture)), units).phases.flatMap((p) => p.steps);
const cu = (name: string, phase: ClusterUnit['phase'], after: string[] = []): ClusterUnit => {
  const file = clusterFile('t', `cluster/${name}.yaml`, `kind: ConfigMap # ${name}\n`);
  return { kind: 'cluster', name, phase, after, action: { kind: 'apply', path: file.path }, files: [file] };
};

describe('cluster units: ordered by phase, then by what they declare to come after', () => {
  it('a unit moves behind the units it names; otherwise the generators\' order stays', () => {
    const order = orderClusterUnits([cu('b', 'addons', ['c']), cu('a', 'addons'), cu('c', 'addons'), cu('net', 'cni'), cu('m', 'models')]);
    expect(order.map((u) => u.name)).toEqual(['net', 'a', 'c', 'b', 'm']);
  });

  it('refuses an unknown name, a dependency in a later phase, a cycle and a name used twice', () => {
    expect(() => orderClusterUnits([cu('a', 'addons', ['nope'])])).toThrow(/a comes after nope, which is not a unit/);
    expect(() => orderClusterUnits([cu('a', 'addons', ['m']), cu('m', 'models')])).toThrow(/in the later phase models/);
    expect(() => orderClusterUnits([cu('a', 'addons', ['b']), cu('b', 'addons', ['a'])])).toThrow(/cycle/);
    expect(() => orderClusterUnits([cu('a', 'addons'), cu('a', 'models')])).toThrow(/two cluster units are named a/);
  });

  it('an apply unit becomes one kube-apply step in its phase; its Jobs are waited for right after it', () => {
    const u: ClusterUnit = { ...cu('check', 'addons'), waitFor: [{ namespace: 'default', name: 'j1' }] };
    const s = steps([u]).filter((x) => x.host === null && x.phase === 'addons');
    expect(s.map((x) => [x.id, x.kind])).toEqual([
      ['addons/cluster/apply/check', 'kube-apply'],
      ['addons/cluster/job/default/j1', 'wait-for'],
    ]);
  });

  it('a unit whose manifest is made from bundle files keeps its step without them: needs named, no checksum', () => {
    const u: ClusterUnit = { ...cu('10-calico', 'cni'), files: [], needs: ['manifests/calico-v3.27.0.yaml'] };
    const [apply] = steps([u]).filter((x) => x.kind === 'kube-apply');
    expect(apply).toMatchObject({ id: 'cni/cluster/apply/10-calico', needs: ['manifests/calico-v3.27.0.yaml'] });
    expect(apply).not.toHaveProperty('sha256');
    // without `needs`, a missing manifest is a generator bug
    expect(() => steps([{ ...cu('x', 'cni'), files: [] }])).toThrow(/cluster\/x\.yaml was not rendered/);
  });
});

describe('host units: files first, then services (restarted on their own files) and scripts (run on the phase\'s files)', () => {
  const view = deriveView(loadFixture('runbook-single'));
  const h = view.hosts[0]!.name;
  const a: HostUnit = { kind: 'host', name: 'a', host: h, phase: 'prepare-os', files: [hostFile('a', h, '/etc/a.conf', 'a\n')], services: ['a-svc'] };
  const b: HostUnit = { kind: 'host', name: 'b', host: h, phase: 'prepare-os', files: [hostFile('b', h, '/etc/b.conf', 'b\n')], run: { id: 'b-run', argv: ['/bin/true'], description: 'run b' } };

  it('orders and wires them', () => {
    const s = steps([a, b]).filter((x) => x.phase === 'prepare-os');
    expect(s.map((x) => x.id)).toEqual([
      `prepare-os/${h}/file/etc/a.conf`,
      `prepare-os/${h}/file/etc/b.conf`,
      `prepare-os/${h}/service/a-svc/enable`,
      `prepare-os/${h}/service/a-svc/restart`,
      `prepare-os/${h}/b-run`,
    ]);
    const byId = new Map(s.map((x) => [x.id, x]));
    expect(byId.get(`prepare-os/${h}/service/a-svc/restart`)!.onChangeOf).toEqual([`prepare-os/${h}/file/etc/a.conf`]);
    expect(byId.get(`prepare-os/${h}/b-run`)!.onChangeOf).toEqual([`prepare-os/${h}/file/etc/a.conf`, `prepare-os/${h}/file/etc/b.conf`]);
  });

  it('a unit in a phase its host has no place in is refused (a load-balancer file on a host that is no LB)', () => {
    const lb: HostUnit = { kind: 'host', name: 'lb', host: h, phase: 'load-balancer', files: [hostFile('lb', h, '/etc/x.cfg', 'x\n')] };
    expect(() => steps([lb])).toThrow(/\/etc\/x\.cfg \(load-balancer\) has no place in the plan/);
  });
});

describe('every fixture', () => {
  const kinds = (ss: Step[]) => ss.map((x) => `${x.id} ${x.kind}`);
  for (const name of validFixtureNames()) {
    it(`${name}: every cluster/*.yaml the render writes has exactly one apply step; the plan has the same steps without the bundle`, () => {
      const view = deriveView(loadFixture(name));
      const files = renderView(view, testInputs());
      const plan = planFor(view, testInputs()).phases.flatMap((p) => p.steps);
      const applied = plan.filter((x) => x.kind === 'kube-apply').map((x) => (x.kind === 'kube-apply' ? x.source : ''));
      const manifests = files.filter((f) => f.kind === 'cluster' && /^cluster\/[^/]+\.yaml$/.test(f.path)).map((f) => f.path);
      expect(applied.sort()).toEqual(manifests.sort());
      // no bundle: Calico's manifest is not rendered, its step stays (needs named)
      const bare = { ...testInputs(), upstream: {} };
      const without = planFor(view, bare).phases.flatMap((p) => p.steps);
      expect(kinds(without)).toEqual(kinds(plan));
      const needing = without.filter((x) => x.needs);
      expect(needing.map((x) => x.id)).toEqual(view.cluster.spec.addons.cni.calico.mode === 'manifest' ? ['cni/cluster/apply/10-calico'] : []);
      // units and files agree: the render is the units' files
      expect(filesOf(renderUnits(view, testInputs())).length).toBe(files.length);
    });
  }
});
