import { existsSync, readFileSync } from 'node:fs';
import { addonFiles } from '../addon.js';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it, vi } from 'vitest';
import { deriveView, type ClusterView } from '../../../spec/derive.js';
import { CALICO_VERSIONS, Calico, type ClusterSpec } from '../../../spec/schema.js';
import { FIXTURES, loadFixture, ROOT, testInputs } from '../../../../test/support/fixtures.js';
import { valuesPath } from '../helm.js';
import {
  CALICO_MANIFEST_PATH,
  CALICO_NEEDS_UPSTREAM_PATH,
  CALICO_OPERATOR_CRS_PATH,
  calicoAddon,
  calicoAutodetection,
  nodeAddressAutodetection,
  CALICO_RELEASES,
  transformCalicoManifest,
} from './calico.js';

const excerpt = readFileSync(join(FIXTURES, 'upstream', 'calico-excerpt.yaml'), 'utf8');
const UPSTREAM_HOSTS = /\b(docker\.io|quay\.io|nvcr\.io|registry\.k8s\.io|ghcr\.io|gcr\.io)\//;

function view(fixture: string, patch?: (s: ClusterSpec) => void): ClusterView {
  const spec = structuredClone(loadFixture(fixture));
  patch?.(spec);
  return deriveView(spec);
}

type Obj = Record<string, any>;

function docs(text: string): Obj[] {
  return (yaml.loadAll(text) as Obj[]).filter((d) => d);
}

function calicoNode(text: string): Obj {
  const ds = docs(text).find((d) => d.kind === 'DaemonSet' && d.metadata.name === 'calico-node')!;
  return ds.spec.template.spec.containers.find((c: Obj) => c.name === 'calico-node');
}

function env(text: string): Record<string, string> {
  return Object.fromEntries(calicoNode(text).env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
}

function images(text: string): string[] {
  const out: string[] = [];
  for (const d of docs(text)) {
    const spec = d.spec?.template?.spec;
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) out.push(c.image);
  }
  return [...new Set(out)].sort();
}

const withRegistry = (s: ClusterSpec) => {
  s.spec.offline.registry = 'registry.local:5000/k8s';
};

/**
 * The transform's behaviour on a calico.yaml: run on our excerpt (always) and on Calico's REAL manifests/calico.yaml
 * v3.27.0 (../shared/upstream, read at test time, never copied into the repository; it is what the real clusters
 * of the e2e-cluster tier run).
 */
function transformCases(source: string): void {
  it('IPIP (default): IPIP Always, VXLAN Never, BIRD kept', () => {
    const out = transformCalicoManifest(source, view('runbook-ha'));
    expect(env(out)).toMatchObject({ CALICO_IPV4POOL_IPIP: 'Always', CALICO_IPV4POOL_VXLAN: 'Never' });
    expect(docs(out).find((d) => d.kind === 'ConfigMap')!.data.calico_backend).toBe('bird');
    expect(calicoNode(out).livenessProbe.exec.command).toContain('-bird-live');
  });

  it('VXLAN: IPIP Never, VXLAN Always, calico_backend vxlan and no BIRD probes', () => {
    const out = transformCalicoManifest(source, view('runbook-ha', (s) => (s.spec.addons.cni.calico.encapsulation = 'VXLAN')));
    expect(env(out)).toMatchObject({ CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Always' });
    expect(docs(out).find((d) => d.kind === 'ConfigMap')!.data.calico_backend).toBe('vxlan');
    expect(calicoNode(out).livenessProbe.exec.command).toEqual(['/bin/calico-node', '-felix-live']);
    expect(calicoNode(out).readinessProbe.exec.command).toEqual(['/bin/calico-node', '-felix-ready']);
  });

  it('None: both encapsulations Never, BGP kept', () => {
    const out = transformCalicoManifest(source, view('runbook-ha', (s) => (s.spec.addons.cni.calico.encapsulation = 'None')));
    expect(env(out)).toMatchObject({ CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Never' });
    expect(docs(out).find((d) => d.kind === 'ConfigMap')!.data.calico_backend).toBe('bird');
  });

  it('moves every image (init containers included) to the registry; images() lists exactly those', () => {
    const v = view('runbook-ha', withRegistry);
    const out = transformCalicoManifest(source, v);
    expect(out).not.toMatch(UPSTREAM_HOSTS);
    expect(images(out)).toEqual(calicoAddon.images(v).sort());
    expect(images(out)).toEqual([
      'registry.local:5000/k8s/calico/cni:v3.27.0',
      'registry.local:5000/k8s/calico/kube-controllers:v3.27.0',
      'registry.local:5000/k8s/calico/node:v3.27.0',
    ]);
    // without a registry: fully qualified upstream names
    expect(images(transformCalicoManifest(source, view('runbook-ha')))).toEqual(calicoAddon.images(view('runbook-ha')).sort());
  });

  it('keeps everything else: all documents, in order, and the CNI config text', () => {
    const out = transformCalicoManifest(source, view('runbook-ha'));
    expect(docs(out).map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(docs(source).map((d) => `${d.kind}/${d.metadata.name}`));
    const cm = (t: string) => docs(t).find((d) => d.kind === 'ConfigMap')!.data.cni_network_config;
    expect(cm(out)).toBe(cm(source));
  });

  it('parses the text once for every spec: what one spec gets does not depend on what others got before', async () => {
    const specs = [view('runbook-ha', withRegistry), view('runbook-ha', (s) => (s.spec.addons.cni.calico.encapsulation = 'VXLAN')), view('runbook-ha')];
    // the text is parsed (and its documents written) already by the cases above, each spec after the others
    const warm = specs.map((v) => transformCalicoManifest(source, v));
    for (const [i, v] of specs.entries()) {
      vi.resetModules();
      const fresh = (await import('./calico.js')).transformCalicoManifest;
      expect(fresh(source, v)).toBe(warm[i]);
    }
  });

}

describe('calico manifest mode: transformCalicoManifest on the excerpt', () => {
  transformCases(excerpt);

  it('sets CALICO_IPV4POOL_CIDR to the pod subnet (upstream has it commented out) next to the pool settings', () => {
    const v = view('containerd2'); // podSubnet 10.244.0.0/16
    const out = transformCalicoManifest(excerpt, v);
    expect(env(excerpt).CALICO_IPV4POOL_CIDR).toBeUndefined();
    expect(env(out).CALICO_IPV4POOL_CIDR).toBe('10.244.0.0/16');
    const names = calicoNode(out).env.map((e: Obj) => e.name);
    expect(names.indexOf('CALICO_IPV4POOL_CIDR')).toBe(names.indexOf('CALICO_IPV4POOL_VXLAN') + 1);
    expect(new Set(names).size, 'no duplicate env names').toBe(names.length);
  });

  it('replaces existing CIDR envs (duplicates included) instead of adding another', () => {
    const withCidr = excerpt.replace('            - name: CALICO_DISABLE_FILE_LOGGING', '            - name: CALICO_IPV4POOL_CIDR\n              value: "192.168.0.0/16"\n            - name: CALICO_IPV4POOL_CIDR\n              value: "1.2.3.0/24"\n            - name: CALICO_DISABLE_FILE_LOGGING');
    const out = transformCalicoManifest(withCidr, view('containerd2'));
    const cidrs = calicoNode(out).env.filter((e: Obj) => e.name === 'CALICO_IPV4POOL_CIDR');
    expect(cidrs).toEqual([{ name: 'CALICO_IPV4POOL_CIDR', value: '10.244.0.0/16' }]);
  });

  it('IP_AUTODETECTION_METHOD: the spec, else the one interface every host declares, else first-found', () => {
    expect(env(transformCalicoManifest(excerpt, view('runbook-ha'))).IP_AUTODETECTION_METHOD).toBe('interface=ens0');
    const derived = view('five-control-planes'); // no ipAutodetection; every host on bond0
    expect(calicoAutodetection(derived)).toEqual({ method: 'interface=bond0', from: 'hosts' });
    expect(env(transformCalicoManifest(excerpt, derived)).IP_AUTODETECTION_METHOD).toBe('interface=bond0');
    const mixed = view('five-control-planes', (s) => {
      s.spec.hosts[6]!.interface = 'eth1';
    });
    expect(calicoAutodetection(mixed)).toEqual({ method: 'first-found', from: 'default' });
    const undeclared = view('five-control-planes', (s) => {
      delete s.spec.hosts[0]!.interface;
    });
    expect(calicoAutodetection(undeclared).method).toBe('first-found');
    const names = calicoNode(transformCalicoManifest(excerpt, derived)).env.map((e: Obj) => e.name);
    expect(names.indexOf('IP_AUTODETECTION_METHOD')).toBe(names.indexOf('IP') + 1);
  });

  it('is a file: marker first, the source named, one newline at the end, deterministic', () => {
    const v = view('runbook-ha');
    const out = transformCalicoManifest(excerpt, v);
    expect(out.split('\n')[0]).toMatch(/^# Generated by airgap-k8s from Cluster "gpu-prod"/);
    expect(out.split('\n')[1]).toMatch(/manifests\/calico-v3\.27\.0\.yaml/);
    expect(out.endsWith('\n') && !out.endsWith('\n\n')).toBe(true);
    expect(transformCalicoManifest(excerpt, v)).toBe(out);
  });

  it('the transformed excerpt, kept as a file snapshot for review (runbook topology, private registry)', async () => {
    await expect(transformCalicoManifest(excerpt, view('runbook-ha', withRegistry))).toMatchFileSnapshot('./__snapshots__/10-calico.runbook-ha-registry.yaml');
  });

  it('refuses what is not the expected calico.yaml', () => {
    const v = view('runbook-ha');
    expect(() => transformCalicoManifest(excerpt.replace(/calico\/node:v3\.27\.0/g, 'calico/node:v3.28.0'), v)).toThrow(/does not list.*calico\/node:v3\.28\.0/);
    expect(() => transformCalicoManifest(excerpt.replace(/name: calico-node\n  namespace: kube-system\n  labels/, 'name: other\n  namespace: kube-system\n  labels'), v)).toThrow(/no calico-node DaemonSet/);
    expect(() => transformCalicoManifest(`${excerpt}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  mode: 0644\n`, v)).toThrow(/octal/);
    expect(() => transformCalicoManifest('a: [', v)).toThrow(/not valid YAML/);
    expect(() => transformCalicoManifest('- just\n- a list\n', v)).toThrow(/not a Kubernetes object/);
  });
});

const REAL_CALICO = join(ROOT, '..', 'shared', 'upstream', 'calico-v3.27.0.yaml');
describe.skipIf(!existsSync(REAL_CALICO))(`calico manifest mode on the real calico.yaml v3.27.0 (${REAL_CALICO})`, () => {
  const real = existsSync(REAL_CALICO) ? readFileSync(REAL_CALICO, 'utf8') : '';
  transformCases(real);
  it('the real manifest carries its CRDs and the upstream images the excerpt names', () => {
    expect(docs(real).filter((d) => d.kind === 'CustomResourceDefinition').length).toBeGreaterThan(15);
    expect(images(real)).toEqual(images(excerpt));
  });
});

describe('calico addon module', () => {
  it('manifest mode with the upstream fact renders cluster/10-calico.yaml, no Helm release', () => {
    const v = view('runbook-ha');
    const files = addonFiles(calicoAddon, v, { ...testInputs(), upstream: { calicoManifest: excerpt } });
    expect(files.map((f) => f.path)).toEqual([CALICO_MANIFEST_PATH]);
    expect(files[0]!.content).toBe(transformCalicoManifest(excerpt, v));
    expect(calicoAddon.helmReleases(v)).toEqual([]);
  });

  it('manifest mode without it renders only a note naming the bundle file and the settings', () => {
    const v = view('runbook-ha');
    const files = addonFiles(calicoAddon, v, { ...testInputs(), upstream: {} });
    expect(files.map((f) => f.path)).toEqual([CALICO_NEEDS_UPSTREAM_PATH]);
    const note = files[0]!.content;
    expect(note).toMatch(/\/data\/k8s\/manifests\/calico-v3\.27\.0\.yaml/);
    expect(note).toMatch(/CALICO_IPV4POOL_CIDR\s+192\.168\.0\.0\/16/);
    expect(note).toMatch(/IP_AUTODETECTION_METHOD\s+interface=ens0/);
    expect(note.split('\n').every((l) => l === '' || l.startsWith('#')), 'comment lines only').toBe(true);
  });

  it('operator mode: Installation with the pod CIDR, registry/ and autodetection; APIServer; the chart with its image pinned', () => {
    const v = view('private-registry'); // mode operator, registry set, all hosts on ens192
    const files = addonFiles(calicoAddon, v, testInputs());
    expect(files.map((f) => f.path).sort()).toEqual([CALICO_OPERATOR_CRS_PATH, valuesPath('tigera-operator')].sort());
    for (const f of files) expect(f.content).not.toMatch(UPSTREAM_HOSTS);
    const crs = docs(files.find((f) => f.path === CALICO_OPERATOR_CRS_PATH)!.content);
    expect(crs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual(['operator.tigera.io/v1 Installation', 'operator.tigera.io/v1 APIServer']);
    const inst = crs[0]!.spec;
    expect(inst.registry).toBe('registry.local:5000/k8s/');
    expect(inst.calicoNetwork.ipPools).toEqual([expect.objectContaining({ cidr: '10.244.0.0/16', encapsulation: 'IPIP', natOutgoing: 'Enabled' })]);
    expect(inst.calicoNetwork.nodeAddressAutodetectionV4).toEqual({ interface: 'ens192' });
    const values = yaml.load(files.find((f) => f.path === valuesPath('tigera-operator'))!.content) as Obj;
    expect(values.tigeraOperator).toEqual({ registry: 'registry.local:5000/k8s', image: 'tigera/operator', version: 'v1.32.3' });
    expect(values.installation.enabled).toBe(false);
    expect(calicoAddon.images(v)).toContain(`${values.tigeraOperator.registry}/${values.tigeraOperator.image}:${values.tigeraOperator.version}`);
    expect(calicoAddon.images(v).sort()).toEqual(
      ['tigera/operator:v1.32.3', ...['apiserver', 'cni', 'kube-controllers', 'node', 'typha'].map((n) => `calico/${n}:v3.27.0`)].map((i) => `registry.local:5000/k8s/${i}`).sort(),
    );
    expect(calicoAddon.helmReleases(v)).toEqual([
      { release: 'tigera-operator', namespace: 'tigera-operator', chart: 'tigera-operator', version: 'v3.27.0', bundlePath: 'charts/tigera-operator-v3.27.0.tgz' },
    ]);
  });

  it('operator mode without a registry leaves Installation.registry unset (upstream defaults)', () => {
    const v = view('runbook-ha', (s) => (s.spec.addons.cni.calico.mode = 'operator'));
    const inst = docs(addonFiles(calicoAddon, v, testInputs()).find((f) => f.path === CALICO_OPERATOR_CRS_PATH)!.content)[0]!;
    expect(inst.spec.registry).toBeUndefined();
    expect(inst.spec.calicoNetwork.ipPools[0].cidr).toBe('192.168.0.0/16');
  });

  it('maps every IP_AUTODETECTION_METHOD form to the operator API', () => {
    expect(nodeAddressAutodetection('first-found')).toEqual({ firstFound: true });
    expect(nodeAddressAutodetection('kubernetes-internal-ip')).toEqual({ kubernetes: 'NodeInternalIP' });
    expect(nodeAddressAutodetection('interface=ens.*')).toEqual({ interface: 'ens.*' });
    expect(nodeAddressAutodetection('skip-interface=docker0')).toEqual({ skipInterface: 'docker0' });
    expect(nodeAddressAutodetection('can-reach=10.0.0.1')).toEqual({ canReach: '10.0.0.1' });
    expect(nodeAddressAutodetection('cidr=10.0.0.0/24,10.1.0.0/24')).toEqual({ cidrs: ['10.0.0.0/24', '10.1.0.0/24'] });
  });
});

describe('calico versions', () => {
  it('the spec accepts exactly the Calico versions this module has image tables for', () => {
    expect([...CALICO_VERSIONS].sort()).toEqual(Object.keys(CALICO_RELEASES).sort());
    expect(Calico.safeParse({ version: 'v3.27.0' }).success).toBe(true);
    expect(Calico.safeParse({ version: 'v3.28.0' }).error?.issues.map((i) => i.path)).toEqual([['version']]);
  });
});
