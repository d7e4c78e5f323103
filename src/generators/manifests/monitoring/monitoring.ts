// Monitoring (spec.addons.monitoring): kube-prometheus-stack as the runbook installs it (release `monitoring`), from the
// chart in the offline bundle, plus GPU metrics from the GPU Operator's DCGM exporter.
//   cluster/40-monitoring.yaml                Namespace (Pod Security `privileged`: node-exporter uses the host's
//                                             network, PID namespace and filesystem)
//   cluster/41-monitoring-secrets.yaml        SECRET (0600): Grafana's admin user and password (spec adminPasswordRef)
//   cluster/helm/monitoring.values.yaml       release monitoring, order 41 (after the Secret it reads)
//   cluster/42-monitoring-gpu.yaml            ServiceMonitor for nvidia-dcgm-exporter (needs the chart's CRDs);
//                                             only when the GPU Operator is rendered
//
// Decisions:
// - Air-gap: global.imageRegistry AND every component's registry/repository/tag pinned (the chart's defaults are
//   upstream hosts, and a tag left to the chart's appVersion is a tag we cannot list). Components we do not deploy are
//   off: Grafana's test pod, its chown init container (no Grafana persistence), the CRD upgrade job, Windows exporter.
// - Grafana's password never appears in the values: grafana.admin.existingSecret names our Secret (keys admin-user,
//   admin-password), so the values file is an ordinary 0644 file and the runbook's `kubectl get secret
//   monitoring-grafana` becomes `kubectl -n <ns> get secret grafana-admin`.
// - *SelectorNilUsesHelmValues false: Prometheus picks up every ServiceMonitor/PodMonitor/rule in the cluster, not only
//   those labelled release=monitoring (ours, the DCGM one, and the model workloads').
import type { ClusterView } from '../../../spec/derive.js';
import { parseImage, resolveImage } from '../../../images.js';
import { yamlFile } from '../../render/yaml.js';
import { clusterFile, type RenderInputs, type GeneratedFile, type ClusterUnit } from '../../types.js';
import { applyUnit, helmUnit, type AddonModule } from '../addon.js';
import { valuesPath, type HelmRelease } from '../helm.js';
import { GPU_OPERATOR_NAMESPACE, GPU_OPERATOR_RELEASE, gpuOperatorActive } from '../gpu-operator/gpu-operator.js';

const GENERATOR = 'monitoring';
export const MONITORING_RELEASE = 'monitoring';
export const MONITORING_MANIFEST_PATH = 'cluster/40-monitoring.yaml';
export const MONITORING_SECRETS_PATH = 'cluster/41-monitoring-secrets.yaml';
export const MONITORING_GPU_PATH = 'cluster/42-monitoring-gpu.yaml';
export const GRAFANA_ADMIN_SECRET = 'grafana-admin';
export const GRAFANA_ADMIN_USER = 'admin';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'airgap-k8s' };

/** Every image kube-prometheus-stack deploys with our values, per chart version (its defaults, subcharts included). */
export interface KubePrometheusStackImages {
  prometheusOperator: string;
  configReloader: string;
  webhookCertgen: string;
  prometheus: string;
  alertmanager: string;
  kubeStateMetrics: string;
  /** tag WITHOUT the -distroless suffix the node-exporter chart appends */
  nodeExporter: string;
  grafana: string;
  grafanaSidecar: string;
}

export const KUBE_PROMETHEUS_STACK_CHARTS: Record<string, KubePrometheusStackImages> = {
  // chart 88.5.3: prometheus-operator v0.93.1, kube-state-metrics chart 8.4.0, node-exporter chart 4.56.1, grafana 12.11.1
  '88.5.3': {
    prometheusOperator: 'quay.io/prometheus-operator/prometheus-operator:v0.93.1',
    configReloader: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1',
    webhookCertgen: 'ghcr.io/jkroepke/kube-webhook-certgen:1.8.7',
    prometheus: 'quay.io/prometheus/prometheus:v3.14.0-distroless',
    alertmanager: 'quay.io/prometheus/alertmanager:v0.34.0',
    kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0',
    nodeExporter: 'quay.io/prometheus/node-exporter:v1.12.1',
    grafana: 'docker.io/grafana/grafana:13.2.0',
    grafanaSidecar: 'quay.io/kiwigrid/k8s-sidecar:2.10.1',
  },
};

/** The chart's node-exporter default (distroless variant); its chart appends "-distroless" to the tag. */
const NODE_EXPORTER_DISTROLESS = true;

function spec(view: ClusterView) {
  return view.cluster.spec.addons.monitoring;
}

function chartImages(view: ClusterView): KubePrometheusStackImages {
  const v = spec(view).chartVersion.replace(/^v/, '');
  const i = KUBE_PROMETHEUS_STACK_CHARTS[v];
  if (!i) throw new Error(`monitoring: no image table for kube-prometheus-stack ${v} (validate the spec first)`);
  return i;
}

/** Upstream references of every image the release pulls (node-exporter as pulled, with its -distroless tag). */
export function monitoringUpstreamImages(view: ClusterView): string[] {
  const i = chartImages(view);
  const nodeExporter = NODE_EXPORTER_DISTROLESS ? `${i.nodeExporter}-distroless` : i.nodeExporter;
  return [...new Set([...Object.values({ ...i, nodeExporter })])].sort();
}

/** registry / repository / tag, as these charts join them ("<registry>/<repository>:<tag>", global.imageRegistry
 * taking the registry's place when set). */
function pin(upstream: string, registry: string): { registry: string; repository: string; tag: string } {
  const i = parseImage(upstream);
  return { registry: registry || i.host, repository: i.path, tag: i.tag };
}

/** Whether the DCGM ServiceMonitor is rendered: monitoring and the GPU Operator both on. */
export function dcgmMonitorActive(view: ClusterView): boolean {
  return spec(view).enabled && gpuOperatorActive(view);
}

function monitoringValues(view: ClusterView): object {
  const m = spec(view);
  const i = chartImages(view);
  const reg = view.registry;
  const storage = m.storage
    ? {
        volumeClaimTemplate: {
          spec: {
            storageClassName: m.storage.storageClassName,
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: m.storage.size } },
          },
        },
      }
    : undefined;
  return {
    global: reg ? { imageRegistry: reg } : undefined,
    crds: { enabled: true, upgradeJob: { enabled: false } },
    windowsMonitoring: { enabled: false },
    prometheusOperator: {
      image: pin(i.prometheusOperator, reg),
      prometheusConfigReloader: { image: pin(i.configReloader, reg) },
      admissionWebhooks: { patch: { enabled: true, image: pin(i.webhookCertgen, reg) }, deployment: { enabled: false } },
    },
    prometheus: {
      prometheusSpec: {
        image: pin(i.prometheus, reg),
        retention: m.retention,
        storageSpec: storage,
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
      },
    },
    alertmanager: { alertmanagerSpec: { image: pin(i.alertmanager, reg) } },
    'kube-state-metrics': { image: pin(i.kubeStateMetrics, reg) },
    'prometheus-node-exporter': { image: { ...pin(i.nodeExporter, reg), distroless: NODE_EXPORTER_DISTROLESS } },
    grafana: {
      image: pin(i.grafana, reg),
      sidecar: { image: pin(i.grafanaSidecar, reg) },
      // No Grafana persistence, so no chown init container; no `helm test` pod.
      initChownData: { enabled: false },
      testFramework: { enabled: false },
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: 'admin-user', passwordKey: 'admin-password' },
      service: { type: 'NodePort', nodePort: m.grafana.nodePort },
    },
  };
}

function grafanaSecret(view: ClusterView, inputs: RenderInputs): object {
  const m = spec(view);
  const password = inputs.secrets.passwords[m.grafana.adminPasswordRef];
  if (password === undefined) throw new Error(`monitoring: the secrets file has no password "${m.grafana.adminPasswordRef}" (spec.addons.monitoring.grafana.adminPasswordRef)`);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: GRAFANA_ADMIN_SECRET, namespace: m.namespace, labels: MANAGED_BY },
    type: 'Opaque',
    stringData: { 'admin-user': GRAFANA_ADMIN_USER, 'admin-password': password },
  };
}

/** Prometheus scrapes the GPU Operator's DCGM exporter (Service nvidia-dcgm-exporter, port gpu-metrics). */
export function dcgmServiceMonitor(view: ClusterView): object {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: 'nvidia-dcgm-exporter',
      namespace: spec(view).namespace,
      labels: { ...MANAGED_BY, release: MONITORING_RELEASE },
    },
    spec: {
      jobLabel: 'app',
      namespaceSelector: { matchNames: [GPU_OPERATOR_NAMESPACE] },
      selector: { matchLabels: { app: 'nvidia-dcgm-exporter' } },
      endpoints: [{ port: 'gpu-metrics', path: '/metrics', interval: '15s' }],
    },
  };
}

export const monitoringAddon: AddonModule = {
  name: GENERATOR,
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[] {
    const m = spec(view);
    if (!m.enabled) return [];
    const [release] = monitoringAddon.helmReleases(view);
    const namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: m.namespace, labels: { ...MANAGED_BY, 'pod-security.kubernetes.io/enforce': 'privileged' } },
    };
    const units = [
      applyUnit('monitoring-namespace', 'addons', clusterFile(GENERATOR, MONITORING_MANIFEST_PATH, yamlFile(view.name, [namespace]))),
      // the Grafana admin Secret the chart's values point at exists before the chart
      applyUnit('monitoring-secrets', 'addons', clusterFile(GENERATOR, MONITORING_SECRETS_PATH, yamlFile(view.name, [grafanaSecret(view, inputs)]), { secret: true }), { after: ['monitoring-namespace'] }),
      {
        ...helmUnit('addons', release!, clusterFile(GENERATOR, valuesPath(MONITORING_RELEASE), yamlFile(view.name, [monitoringValues(view)])), ['monitoring-secrets']),
        verify: [{ kind: 'pods-ready' as const, namespace: m.namespace }],
      },
    ];
    // a ServiceMonitor: needs the chart's CRDs, and scrapes the GPU Operator's exporter
    if (dcgmMonitorActive(view)) units.push(applyUnit('monitoring-gpu', 'addons', clusterFile(GENERATOR, MONITORING_GPU_PATH, yamlFile(view.name, [dcgmServiceMonitor(view)])), { after: [MONITORING_RELEASE, GPU_OPERATOR_RELEASE] }));
    return units;
  },
  images(view: ClusterView): string[] {
    if (!spec(view).enabled) return [];
    return monitoringUpstreamImages(view).map((u) => resolveImage(u, view.registry)).sort();
  },
  helmReleases(view: ClusterView): HelmRelease[] {
    const m = spec(view);
    if (!m.enabled) return [];
    const v = m.chartVersion.replace(/^v/, '');
    return [
      {
        release: MONITORING_RELEASE,
        namespace: m.namespace,
        chart: 'kube-prometheus-stack',
        version: v,
        bundlePath: `charts/kube-prometheus-stack-${v}.tgz`,
      },
    ];
  },
};
