import yaml from 'js-yaml';
import { addonFiles } from '../addon.js';
import { describe, expect, it } from 'vitest';
import { deriveView, type ClusterView } from '../../../spec/derive.js';
import { MONITORING_CHART_VERSIONS, Monitoring, type ClusterSpec } from '../../../spec/schema.js';
import { loadFixture, testInputs } from '../../../../test/support/fixtures.js';
import { valuesPath } from '../helm.js';
import {
  GRAFANA_ADMIN_SECRET,
  MONITORING_GPU_PATH,
  MONITORING_MANIFEST_PATH,
  MONITORING_SECRETS_PATH,
  KUBE_PROMETHEUS_STACK_CHARTS,
  monitoringAddon,
} from './monitoring.js';

const UPSTREAM_HOSTS = /\b(docker\.io|quay\.io|nvcr\.io|registry\.k8s\.io|ghcr\.io|gcr\.io)\//;
type Obj = Record<string, any>;

function view(fixture: string, patch?: (s: ClusterSpec) => void): ClusterView {
  const spec = structuredClone(loadFixture(fixture));
  patch?.(spec);
  return deriveView(spec);
}
const withRegistry = (s: ClusterSpec) => {
  s.spec.offline.registry = 'registry.local:5000/k8s';
};
const PASSWORD = testInputs().secrets.passwords.grafana!;

function rendered(v: ClusterView) {
  const files = addonFiles(monitoringAddon, v, testInputs());
  const file = (p: string) => files.find((f) => f.path === p);
  return { files, file, values: yaml.load(file(valuesPath('monitoring'))!.content) as Obj };
}

/** `{registry, repository, tag}` triples as the charts join them (node-exporter appends -distroless). */
function pinnedImages(values: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Obj;
    if (typeof o.registry === 'string' && typeof o.repository === 'string' && typeof o.tag === 'string') {
      out.push(`${o.registry}/${o.repository}:${o.tag}${o.distroless ? '-distroless' : ''}`);
    }
    Object.values(o).forEach(walk);
  };
  walk(values);
  return [...new Set(out)].sort();
}

describe('monitoring: kube-prometheus-stack', () => {
  it('the Grafana password is only in the 0600 secret file, never in the values', () => {
    const { file, values } = rendered(view('runbook-ha'));
    const secret = file(MONITORING_SECRETS_PATH)!;
    expect(secret.secret).toBe(true);
    expect(secret.mode).toBe(0o600);
    const doc = yaml.load(secret.content) as Obj;
    expect(doc).toMatchObject({ kind: 'Secret', metadata: { name: GRAFANA_ADMIN_SECRET, namespace: 'monitoring' }, stringData: { 'admin-user': 'admin', 'admin-password': PASSWORD } });
    expect(values.grafana.admin).toEqual({ existingSecret: GRAFANA_ADMIN_SECRET, userKey: 'admin-user', passwordKey: 'admin-password' });
    for (const f of rendered(view('runbook-ha')).files) {
      if (f.path !== MONITORING_SECRETS_PATH) {
        expect(f.content, f.path).not.toContain(PASSWORD);
        expect(f.secret, f.path).toBe(false);
      }
    }
  });

  it('Grafana on the spec NodePort; retention; our ServiceMonitors picked up', () => {
    const { values } = rendered(view('runbook-ha'));
    expect(values.grafana.service).toEqual({ type: 'NodePort', nodePort: 30724 });
    const p = values.prometheus.prometheusSpec;
    expect(p.retention).toBe('15d');
    expect(p.serviceMonitorSelectorNilUsesHelmValues).toBe(false);
    expect(p.podMonitorSelectorNilUsesHelmValues).toBe(false);
    expect(p.storageSpec).toBeUndefined();
  });

  it('storage: a volumeClaimTemplate with the spec size and class', () => {
    const v = view('runbook-ha', (s) => {
      s.spec.addons.monitoring.storage = { size: '200Gi', storageClassName: 'local-path' };
      s.spec.addons.monitoring.retention = '30d';
    });
    const p = rendered(v).values.prometheus.prometheusSpec;
    expect(p.retention).toBe('30d');
    expect(p.storageSpec).toEqual({ volumeClaimTemplate: { spec: { storageClassName: 'local-path', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '200Gi' } } } } });
  });

  it('air-gap: global.imageRegistry and every image pinned; images() lists exactly the pins; no upstream host', () => {
    for (const v of [view('runbook-ha'), view('runbook-ha', withRegistry)]) {
      expect(pinnedImages(rendered(v).values)).toEqual(monitoringAddon.images(v));
    }
    const v = view('runbook-ha', withRegistry);
    const { values, files } = rendered(v);
    expect(values.global).toEqual({ imageRegistry: 'registry.local:5000/k8s' });
    for (const f of files) expect(f.content, f.path).not.toMatch(UPSTREAM_HOSTS);
    expect(monitoringAddon.images(v)).toContain('registry.local:5000/k8s/prometheus/node-exporter:v1.12.1-distroless');
    expect(values.grafana.testFramework).toEqual({ enabled: false });
    expect(rendered(view('runbook-ha')).values.global).toBeUndefined();
  });

  it('a DCGM ServiceMonitor for the GPU Operator exporter, only when that operator is rendered', () => {
    const gpu = rendered(view('runbook-ha')).file(MONITORING_GPU_PATH);
    expect(gpu).toBeDefined();
    const sm = yaml.load(gpu!.content) as Obj;
    expect(sm).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { namespace: 'monitoring' } });
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['gpu-operator'] });
    expect(sm.spec.selector).toEqual({ matchLabels: { app: 'nvidia-dcgm-exporter' } });
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'gpu-metrics', path: '/metrics' })]);
    expect(rendered(view('unicast')).file(MONITORING_GPU_PATH)).toBeUndefined(); // GPU Operator off
  });

  it('namespace from the spec, Pod Security privileged for node-exporter; apply order namespace < secret <= chart < ServiceMonitor', () => {
    const v = view('runbook-ha', (s) => (s.spec.addons.monitoring.namespace = 'observability'));
    const { file, files } = rendered(v);
    expect(yaml.load(file(MONITORING_MANIFEST_PATH)!.content)).toMatchObject({ kind: 'Namespace', metadata: { name: 'observability', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
    expect((yaml.load(file(MONITORING_SECRETS_PATH)!.content) as Obj).metadata.namespace).toBe('observability');
    const [rel] = monitoringAddon.helmReleases(v);
    expect(rel).toEqual({ release: 'monitoring', namespace: 'observability', chart: 'kube-prometheus-stack', version: '88.5.3', bundlePath: 'charts/kube-prometheus-stack-88.5.3.tgz' });
    // the order the units declare: namespace, the Secret the values point at, the chart, then the ServiceMonitor (its CRDs)
    const units = monitoringAddon.units(v, testInputs());
    expect(units.map((u) => [u.name, u.after])).toEqual([
      ['monitoring-namespace', []],
      ['monitoring-secrets', ['monitoring-namespace']],
      ['monitoring', ['monitoring-secrets']],
      ['monitoring-gpu', ['monitoring', 'gpu-operator']],
    ]);
    // and people applying cluster/ by hand in file-name order get the same
    const num = (p: string) => Number(/cluster\/(\d\d)-/.exec(p)![1]);
    expect(num(MONITORING_MANIFEST_PATH)).toBeLessThan(num(MONITORING_SECRETS_PATH));
    expect(num(MONITORING_SECRETS_PATH)).toBeLessThan(num(MONITORING_GPU_PATH));
    expect(files.length).toBe(4);
  });

  it('refuses to render without the password', () => {
    const inputs = structuredClone(testInputs());
    delete inputs.secrets.passwords.grafana;
    expect(() => addonFiles(monitoringAddon, view('runbook-ha'), inputs)).toThrow(/adminPasswordRef/);
  });

  it('disabled: nothing', () => {
    const v = view('runbook-ha', (s) => (s.spec.addons.monitoring.enabled = false));
    expect(addonFiles(monitoringAddon, v, testInputs())).toEqual([]);
    expect(monitoringAddon.images(v)).toEqual([]);
    expect(monitoringAddon.helmReleases(v)).toEqual([]);
  });
});

describe('monitoring chart versions', () => {
  it('the spec accepts exactly the chart versions this module has image tables for', () => {
    expect([...MONITORING_CHART_VERSIONS].sort()).toEqual(Object.keys(KUBE_PROMETHEUS_STACK_CHARTS).sort());
    expect(Monitoring.safeParse({ chartVersion: '88.6.0' }).error?.issues.map((i) => i.path)).toEqual([['chartVersion']]);
  });
});
