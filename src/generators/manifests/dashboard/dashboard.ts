// The cluster's web UI (spec.addons.dashboard), from a chart in the offline bundle:
//   kind kubernetes-dashboard  the runbook's chart (7.14.0: auth, api, web, metrics-scraper behind a Kong gateway).
//                              The runbook edits the Service kubernetes-dashboard-kong-proxy to NodePort by hand; we
//                              set it in the values (kong.proxy NodePort, TLS only: token login needs HTTPS).
//   kind headlamp              the Kubernetes SIG UI project's successor (the dashboard is archived), plain HTTP NodePort.
// Both get the runbook's admin login (user-service.yaml/user.yaml): a ServiceAccount bound to cluster-admin plus a
// long-lived token Secret (kubernetes.io/service-account-token; the token controller fills it in, so the file holds no
// secret). Read it with: kubectl -n <ns> get secret <name> -o jsonpath='{.data.token}' | base64 -d
//   cluster/20-dashboard.yaml                 Namespace, admin ServiceAccount, ClusterRoleBinding, token Secret
//   cluster/helm/<release>.values.yaml        the chart's values, every image pinned (order 20: after the manifest)
import type { ClusterView } from '../../../spec/derive.js';
import { parseImage, resolveImage } from '../../../images.js';
import { yamlFile } from '../../render/yaml.js';
import { clusterFile, type RenderInputs, type GeneratedFile, type ClusterUnit } from '../../types.js';
import { applyUnit, helmUnit, type AddonModule } from '../addon.js';
import { valuesPath, type HelmRelease } from '../helm.js';

const GENERATOR = 'dashboard';
export const DASHBOARD_MANIFEST_PATH = 'cluster/20-dashboard.yaml';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'airgap-k8s' };

type DashboardKind = 'kubernetes-dashboard' | 'headlamp';

interface KubernetesDashboardImages {
  auth: string;
  api: string;
  web: string;
  metricsScraper: string;
  kong: string;
}
interface HeadlampImages {
  headlamp: string;
}

/**
 * Images per chart version we have read the values of (chart defaults; Kong is the chart's kong subchart image).
 * 7.14.0 as released: api 1.14.0, auth 1.4.0 and the kong subchart 2.52.0 (Kong 3.9); web and metrics-scraper as in
 * the chart's values.
 */
export const KUBERNETES_DASHBOARD_CHARTS: Record<string, KubernetesDashboardImages> = {
  '7.14.0': {
    auth: 'docker.io/kubernetesui/dashboard-auth:1.4.0',
    api: 'docker.io/kubernetesui/dashboard-api:1.14.0',
    web: 'docker.io/kubernetesui/dashboard-web:1.7.0',
    metricsScraper: 'docker.io/kubernetesui/dashboard-metrics-scraper:1.2.2',
    kong: 'docker.io/library/kong:3.9',
  },
};
export const HEADLAMP_CHARTS: Record<string, HeadlampImages> = {
  '0.45.0': { headlamp: 'ghcr.io/headlamp-k8s/headlamp:v0.45.0' },
};
/** spec.addons.dashboard.chartVersion when unset. */
export const DEFAULT_DASHBOARD_CHART: Record<DashboardKind, string> = { 'kubernetes-dashboard': '7.14.0', headlamp: '0.45.0' };

export interface DashboardLayout {
  kind: DashboardKind;
  release: string;
  namespace: string;
  chart: string;
  chartVersion: string;
  /** the admin ServiceAccount and its token Secret (same name) */
  adminName: string;
  /** the Service exposed on the NodePort */
  service: string;
}

export function dashboardLayout(view: ClusterView): DashboardLayout {
  const d = view.cluster.spec.addons.dashboard;
  const chartVersion = (d.chartVersion ?? DEFAULT_DASHBOARD_CHART[d.kind]).replace(/^v/, '');
  if (d.kind === 'headlamp') {
    return { kind: d.kind, release: 'headlamp', namespace: 'headlamp', chart: 'headlamp', chartVersion, adminName: 'headlamp-admin', service: 'headlamp' };
  }
  return {
    kind: d.kind,
    release: 'kubernetes-dashboard',
    namespace: 'kubernetes-dashboard',
    chart: 'kubernetes-dashboard',
    chartVersion,
    adminName: 'admin-user',
    service: 'kubernetes-dashboard-kong-proxy',
  };
}

function kubernetesDashboardImages(version: string): KubernetesDashboardImages {
  const i = KUBERNETES_DASHBOARD_CHARTS[version];
  if (!i) throw new Error(`dashboard: no image table for kubernetes-dashboard chart ${version} (validate the spec first)`);
  return i;
}

function headlampImages(version: string): HeadlampImages {
  const i = HEADLAMP_CHARTS[version];
  if (!i) throw new Error(`dashboard: no image table for headlamp chart ${version} (validate the spec first)`);
  return i;
}

/** Upstream references of every image the chart deploys with our values. */
export function dashboardUpstreamImages(view: ClusterView): string[] {
  const l = dashboardLayout(view);
  return Object.values(l.kind === 'headlamp' ? headlampImages(l.chartVersion) : kubernetesDashboardImages(l.chartVersion));
}

/** `repository` (registry included) + `tag`, as the dashboard and Kong charts join them: "{{ repository }}:{{ tag }}". */
function repoTag(upstream: string, registry: string): { repository: string; tag: string } {
  const ref = resolveImage(upstream, registry);
  const { tag } = parseImage(upstream);
  return { repository: ref.slice(0, ref.length - tag.length - 1), tag };
}

/** `registry` + `repository` + `tag`, as the headlamp chart joins them. */
function registryRepoTag(upstream: string, registry: string): { registry: string; repository: string; tag: string } {
  const i = parseImage(upstream);
  return { registry: registry || i.host, repository: i.path, tag: i.tag };
}

function kubernetesDashboardValues(view: ClusterView, l: DashboardLayout): object {
  const img = kubernetesDashboardImages(l.chartVersion);
  const reg = view.registry;
  return {
    app: { mode: 'dashboard' },
    auth: { image: repoTag(img.auth, reg) },
    api: { image: repoTag(img.api, reg) },
    web: { image: repoTag(img.web, reg) },
    metricsScraper: { enabled: true, image: repoTag(img.metricsScraper, reg) },
    kong: {
      image: repoTag(img.kong, reg),
      proxy: {
        type: 'NodePort',
        http: { enabled: false },
        tls: { enabled: true, nodePort: view.cluster.spec.addons.dashboard.nodePort },
      },
    },
    // Optional subcharts whose images we do not ship.
    'metrics-server': { enabled: false },
    'cert-manager': { enabled: false },
    nginx: { enabled: false },
  };
}

function headlampValues(view: ClusterView, l: DashboardLayout): object {
  const img = headlampImages(l.chartVersion);
  return {
    image: registryRepoTag(img.headlamp, view.registry),
    config: { inCluster: true },
    service: { type: 'NodePort', nodePort: view.cluster.spec.addons.dashboard.nodePort, externalTrafficPolicy: 'Cluster' },
    // The plugin manager pulls node:lts-alpine and npm packages: neither exists offline.
    pluginsManager: { enabled: false },
  };
}

/** Namespace, admin ServiceAccount, its cluster-admin binding and long-lived token Secret. */
export function dashboardAdminObjects(l: DashboardLayout): object[] {
  const labels = { ...MANAGED_BY, 'app.kubernetes.io/part-of': l.release };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: l.namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: l.adminName, namespace: l.namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${l.release}-${l.adminName}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: l.adminName, namespace: l.namespace }],
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: l.adminName,
        namespace: l.namespace,
        labels,
        annotations: { 'kubernetes.io/service-account.name': l.adminName },
      },
      type: 'kubernetes.io/service-account-token',
    },
  ];
}

export const dashboardAddon: AddonModule = {
  name: GENERATOR,
  units(view: ClusterView, _facts: RenderInputs): ClusterUnit[] {
    if (!view.cluster.spec.addons.dashboard.enabled) return [];
    const l = dashboardLayout(view);
    const values = l.kind === 'headlamp' ? headlampValues(view, l) : kubernetesDashboardValues(view, l);
    const [release] = dashboardAddon.helmReleases(view);
    return [
      // its namespace and admin account first, then the chart into that namespace
      applyUnit('dashboard-admin', 'addons', clusterFile(GENERATOR, DASHBOARD_MANIFEST_PATH, yamlFile(view.name, dashboardAdminObjects(l)))),
      { ...helmUnit('addons', release!, clusterFile(GENERATOR, valuesPath(l.release), yamlFile(view.name, [values])), ['dashboard-admin']), verify: [{ kind: 'pods-ready', namespace: l.namespace }] },
    ];
  },
  images(view: ClusterView): string[] {
    if (!view.cluster.spec.addons.dashboard.enabled) return [];
    return dashboardUpstreamImages(view).map((u) => resolveImage(u, view.registry)).sort();
  },
  helmReleases(view: ClusterView): HelmRelease[] {
    if (!view.cluster.spec.addons.dashboard.enabled) return [];
    const l = dashboardLayout(view);
    return [
      {
        release: l.release,
        namespace: l.namespace,
        chart: l.chart,
        version: l.chartVersion,
        bundlePath: `charts/${l.chart}-${l.chartVersion}.tgz`,
      },
    ];
  },
};
