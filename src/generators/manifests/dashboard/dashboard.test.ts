import yaml from 'js-yaml';
import { addonFiles } from '../addon.js';
import { describe, expect, it } from 'vitest';
import { deriveView, type ClusterView } from '../../../spec/derive.js';
import { DASHBOARD_CHART_VERSIONS, Dashboard, type ClusterSpec } from '../../../spec/schema.js';
import { loadFixture, testInputs } from '../../../../test/support/fixtures.js';
import { valuesPath } from '../helm.js';
import { DASHBOARD_MANIFEST_PATH, dashboardAddon, DEFAULT_DASHBOARD_CHART, HEADLAMP_CHARTS, KUBERNETES_DASHBOARD_CHARTS } from './dashboard.js';

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

function rendered(v: ClusterView): { manifest: Obj[]; values: Obj; files: { path: string; content: string; mode: number; secret: boolean }[] } {
  const files = addonFiles(dashboardAddon, v, testInputs());
  const manifest = (yaml.loadAll(files.find((f) => f.path === DASHBOARD_MANIFEST_PATH)!.content) as Obj[]).filter((d) => d);
  const values = yaml.load(files.find((f) => f.path.startsWith('cluster/helm/'))!.content) as Obj;
  return { manifest, values, files };
}

/** Every `{repository, tag}` / `{registry, repository, tag}` in a values tree, joined as the charts join them. */
function pinnedImages(values: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Obj;
    if (typeof o.repository === 'string' && typeof o.tag === 'string') out.push(`${o.registry ? `${o.registry}/` : ''}${o.repository}:${o.tag}`);
    Object.values(o).forEach(walk);
  };
  walk(values);
  return [...new Set(out)].sort();
}

describe('dashboard: kubernetes-dashboard chart', () => {
  it('exposes the Kong proxy on the spec NodePort over TLS only', () => {
    const { values } = rendered(view('runbook-ha'));
    expect(values.kong.proxy).toEqual({ type: 'NodePort', http: { enabled: false }, tls: { enabled: true, nodePort: 30443 } });
  });

  it('pins every image it deploys (Kong included) and images() lists exactly those', () => {
    for (const v of [view('runbook-ha'), view('runbook-ha', withRegistry)]) {
      const { values } = rendered(v);
      expect(pinnedImages(values)).toEqual(dashboardAddon.images(v).sort());
    }
    const v = view('runbook-ha', withRegistry);
    expect(dashboardAddon.images(v)).toContain('registry.local:5000/k8s/library/kong:3.9');
    for (const f of rendered(v).files) expect(f.content).not.toMatch(UPSTREAM_HOSTS);
  });

  it('creates the runbook admin-user: ServiceAccount, cluster-admin binding, long-lived token Secret', () => {
    const { manifest } = rendered(view('runbook-ha'));
    expect(manifest.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Namespace/kubernetes-dashboard',
      'ServiceAccount/admin-user',
      'ClusterRoleBinding/kubernetes-dashboard-admin-user',
      'Secret/admin-user',
    ]);
    const crb = manifest[2]!;
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'admin-user', namespace: 'kubernetes-dashboard' }]);
    const secret = manifest[3]!;
    expect(secret.type).toBe('kubernetes.io/service-account-token');
    expect(secret.metadata.annotations).toEqual({ 'kubernetes.io/service-account.name': 'admin-user' });
    expect(secret.metadata.namespace).toBe('kubernetes-dashboard');
    expect(secret.data).toBeUndefined();
  });

  it('installs the chart from the bundle after its manifest', () => {
    const v = view('runbook-ha');
    expect(dashboardAddon.helmReleases(v)).toEqual([
      { release: 'kubernetes-dashboard', namespace: 'kubernetes-dashboard', chart: 'kubernetes-dashboard', version: '7.14.0', bundlePath: 'charts/kubernetes-dashboard-7.14.0.tgz' },
    ]);
    expect(rendered(v).files.map((f) => f.path).sort()).toEqual([DASHBOARD_MANIFEST_PATH, valuesPath('kubernetes-dashboard')]);
    expect(dashboardAddon.units(v, testInputs()).map((u) => [u.name, u.action.kind, u.after])).toEqual([
      ['dashboard-admin', 'apply', []],
      ['kubernetes-dashboard', 'helm', ['dashboard-admin']],
    ]);
  });
});

describe('dashboard: headlamp chart', () => {
  it('NodePort service, in-cluster, no plugin manager, image pinned; an admin token to log in', () => {
    for (const v of [view('unicast'), view('unicast', withRegistry)]) {
      const { values, manifest, files } = rendered(v);
      expect(values.service).toEqual({ type: 'NodePort', nodePort: 30443, externalTrafficPolicy: 'Cluster' });
      expect(values.pluginsManager).toEqual({ enabled: false });
      expect(pinnedImages(values)).toEqual(dashboardAddon.images(v));
      expect(manifest.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Namespace/headlamp', 'ServiceAccount/headlamp-admin', 'ClusterRoleBinding/headlamp-headlamp-admin', 'Secret/headlamp-admin']);
      expect(files.map((f) => f.path).sort()).toEqual([DASHBOARD_MANIFEST_PATH, valuesPath('headlamp')]);
    }
    expect(dashboardAddon.images(view('unicast'))).toEqual(['ghcr.io/headlamp-k8s/headlamp:v0.45.0']);
    expect(dashboardAddon.images(view('unicast', withRegistry))).toEqual(['registry.local:5000/k8s/headlamp-k8s/headlamp:v0.45.0']);
    expect(dashboardAddon.helmReleases(view('unicast'))[0]).toMatchObject({ chart: 'headlamp', version: '0.45.0', bundlePath: 'charts/headlamp-0.45.0.tgz', namespace: 'headlamp' });
  });

  it('follows the spec NodePort', () => {
    const v = view('unicast', (s) => (s.spec.addons.dashboard.nodePort = 31999));
    expect(rendered(v).values.service.nodePort).toBe(31999);
  });
});

describe('dashboard: disabled', () => {
  it('renders, pulls and installs nothing', () => {
    const v = view('runbook-ha', (s) => (s.spec.addons.dashboard.enabled = false));
    expect(addonFiles(dashboardAddon, v, testInputs())).toEqual([]);
    expect(dashboardAddon.images(v)).toEqual([]);
    expect(dashboardAddon.helmReleases(v)).toEqual([]);
  });
});

describe('dashboard chart versions', () => {
  it('the spec accepts exactly the chart versions this module has image tables for, per kind', () => {
    expect([...DASHBOARD_CHART_VERSIONS['kubernetes-dashboard']].sort()).toEqual(Object.keys(KUBERNETES_DASHBOARD_CHARTS).sort());
    expect([...DASHBOARD_CHART_VERSIONS.headlamp].sort()).toEqual(Object.keys(HEADLAMP_CHARTS).sort());
    expect(KUBERNETES_DASHBOARD_CHARTS[DEFAULT_DASHBOARD_CHART['kubernetes-dashboard']]).toBeDefined();
    expect(HEADLAMP_CHARTS[DEFAULT_DASHBOARD_CHART.headlamp]).toBeDefined();
    expect(Dashboard.safeParse({ kind: 'headlamp', chartVersion: '0.45.0' }).success).toBe(true);
    expect(Dashboard.safeParse({ kind: 'headlamp', chartVersion: '7.14.0' }).error?.issues.map((i) => i.path)).toEqual([['chartVersion']]);
  });
});
