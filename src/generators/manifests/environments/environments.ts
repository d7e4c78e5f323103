// Environments (dev/test/prod...): one namespace each, with a quota, container defaults and network isolation.
//   cluster/50-environments.yaml      Namespace, ResourceQuota, LimitRange per environment
//   cluster/51-network-policies.yaml  default deny + the allow rules below, per environment
//
// Pod Security: `enforce: baseline` (no privileged pods, host namespaces or hostPath volumes; the model servers run as
// root but need none of those, and host directories reach them as pre-bound PersistentVolumes), `warn`/`audit:
// restricted` so drift toward the stricter level is visible without breaking the Dify chart (root containers). The
// version is pinned to the cluster's minor so an upgrade does not silently change what is enforced.
//
// Quota: requests.cpu / requests.memory / requests.nvidia.com/gpu (extended resources are quota'd by requests only).
// No limits.* quota: that would force explicit limits onto every chart pod; the LimitRange gives each container a
// default request (so the requests quota can admit it) and a default memory limit as a runaway guard.
//
// Network: default deny for ingress AND egress, then allow: same-namespace traffic; DNS to kube-dns in kube-system
// (UDP+TCP 53); NodePort traffic from anywhere to exposed model pods and Dify's proxy (only their serving port);
// scraping from the monitoring namespace; and Dify's namespace to the models it uses in other namespaces (egress
// there, ingress here). Kubelet probes come from the host, which Calico always admits.
import type { ClusterView } from '../../../spec/derive.js';
import type { EnvironmentSpec, ModelSpec } from '../../../spec/schema.js';
import { kubeMinor } from '../../../versions.js';
import type { RenderInputs, GeneratedFile } from '../../types.js';
import { clusterFile, type ClusterUnit } from '../../types.js';
import { yamlFile } from '../../render/yaml.js';
import { applyUnit, type AddonModule } from '../addon.js';
import { MANAGED_BY, modelPort, modelSelector } from '../models/common.js';
import { DIFY_PROXY_PORT, difyProxySelector } from '../dify/dify.js';

const NAME = 'environments';
export const ENVIRONMENT_LABEL = 'airgap-k8s.io/environment';
const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

export const LIMIT_DEFAULTS = {
  defaultRequest: { cpu: '100m', memory: '256Mi' },
  default: { memory: '4Gi' },
} as const;

function envLabels(e: EnvironmentSpec): Record<string, string> {
  return { ...MANAGED_BY, [ENVIRONMENT_LABEL]: e.name };
}

export function namespaceDocs(view: ClusterView, e: EnvironmentSpec): object[] {
  const psVersion = `v${kubeMinor(view.kubernetesVersion)}`;
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: e.name,
        labels: {
          ...(e.labels ?? {}),
          ...envLabels(e),
          'pod-security.kubernetes.io/enforce': 'baseline',
          'pod-security.kubernetes.io/enforce-version': psVersion,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': psVersion,
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/audit-version': psVersion,
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'environment-quota', namespace: e.name, labels: envLabels(e) },
      spec: {
        hard: {
          'requests.cpu': e.quota.cpu,
          'requests.memory': e.quota.memory,
          'requests.nvidia.com/gpu': String(e.quota.gpus),
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'container-defaults', namespace: e.name, labels: envLabels(e) },
      spec: { limits: [{ type: 'Container', defaultRequest: { ...LIMIT_DEFAULTS.defaultRequest }, default: { ...LIMIT_DEFAULTS.default } }] },
    },
  ];
}

function policy(e: EnvironmentSpec, name: string, spec: object): object {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: e.name, labels: envLabels(e) }, spec };
}

const tcp = (port: number) => ({ protocol: 'TCP', port });
const inNamespace = (ns: string) => ({ namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: ns } } });

export function networkPolicyDocs(view: ClusterView, e: EnvironmentSpec): object[] {
  const s = view.cluster.spec;
  const docs: object[] = [
    policy(e, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy(e, 'allow-same-namespace', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy(e, 'allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ...inNamespace('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ protocol: 'UDP', port: 53 }, tcp(53)],
        },
      ],
    }),
  ];
  if (s.addons.monitoring.enabled) {
    docs.push(policy(e, 'allow-monitoring-scrape', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [inNamespace(s.addons.monitoring.namespace)] }] }));
  }
  const models = s.models.filter((m) => m.environment === e.name);
  for (const m of models) {
    if (m.service.nodePort === undefined) continue;
    docs.push(policy(e, `allow-nodeport-${m.name}`, { podSelector: { matchLabels: modelSelector(m) }, policyTypes: ['Ingress'], ingress: [{ ports: [tcp(modelPort(m))] }] }));
  }
  const dify = s.apps.dify;
  if (dify.enabled) {
    const difyModels = dify.models.map((n) => s.models.find((m) => m.name === n)).filter((m): m is ModelSpec => !!m);
    if (dify.environment === e.name) {
      docs.push(policy(e, 'allow-nodeport-dify', { podSelector: { matchLabels: difyProxySelector() }, policyTypes: ['Ingress'], ingress: [{ ports: [tcp(DIFY_PROXY_PORT)] }] }));
      const remote = difyModels.filter((m) => m.environment !== e.name);
      if (remote.length > 0) {
        docs.push(policy(e, 'allow-dify-to-models', {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: remote.map((m) => ({ to: [{ ...inNamespace(m.environment), podSelector: { matchLabels: modelSelector(m) } }], ports: [tcp(modelPort(m))] })),
        }));
      }
    } else {
      for (const m of difyModels.filter((x) => x.environment === e.name)) {
        docs.push(policy(e, `allow-dify-to-${m.name}`, {
          podSelector: { matchLabels: modelSelector(m) },
          policyTypes: ['Ingress'],
          ingress: [{ from: [inNamespace(dify.environment)], ports: [tcp(modelPort(m))] }],
        }));
      }
    }
  }
  return docs;
}

export const environmentsAddon: AddonModule = {
  name: NAME,
  units(view: ClusterView, _facts: RenderInputs): ClusterUnit[] {
    const envs = view.cluster.spec.environments;
    if (envs.length === 0) return [];
    return [
      applyUnit('environments', 'environments', clusterFile(NAME, 'cluster/50-environments.yaml', yamlFile(view.name, envs.flatMap((e) => namespaceDocs(view, e))))),
      applyUnit('network-policies', 'environments', clusterFile(NAME, 'cluster/51-network-policies.yaml', yamlFile(view.name, envs.flatMap((e) => networkPolicyDocs(view, e)))), { after: ['environments'] }),
    ];
  },
  images(): string[] {
    return [];
  },
  helmReleases(): [] {
    return [];
  },
};
