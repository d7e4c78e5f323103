import { describe, expect, it } from 'vitest';
import { addonFiles } from '../addon.js';
import { testInputs } from '../../../../test/support/fixtures.js';
import { environmentsAddon } from './environments.js';
import { byKind, docsOf, testView } from '../models/testing.js';

const envs = [
  { name: 'dev', quota: { cpu: '8', memory: '16Gi', gpus: 0 }, labels: { team: 'ml' } },
  { name: 'prod', quota: { cpu: '64', memory: '256Gi', gpus: 4 } },
];
const models = [
  { name: 'qwen', engine: 'ollama', environment: 'prod', model: 'qwen2.5:7b', modelFile: 'm.gguf', gpus: 1, service: { nodePort: 31434 } },
  { name: 'llama', engine: 'vllm', environment: 'prod', modelPath: '/models/llama', servedModelName: 'llama', gpus: 1 },
];

function render(spec: Record<string, unknown>) {
  const files = addonFiles(environmentsAddon, testView(spec), testInputs());
  return {
    files,
    ns: docsOf(files.find((f) => f.path === 'cluster/50-environments.yaml')),
    np: docsOf(files.find((f) => f.path === 'cluster/51-network-policies.yaml')),
  };
}
const policies = (docs: Record<string, any>[], ns: string) =>
  Object.fromEntries(byKind(docs, 'NetworkPolicy').filter((d) => d.metadata.namespace === ns).map((d) => [d.metadata.name, d.spec]));

describe('environments', () => {
  it('renders nothing without environments', () => {
    expect(addonFiles(environmentsAddon, testView({}), testInputs())).toEqual([]);
  });

  const { ns, np } = render({ environments: envs, models });

  it('labels each namespace with its environment and pins Pod Security to baseline (warn/audit restricted) at the cluster minor', () => {
    const dev = byKind(ns, 'Namespace').find((d) => d.metadata.name === 'dev')!;
    expect(dev.metadata.labels).toMatchObject({
      team: 'ml',
      'airgap-k8s.io/environment': 'dev',
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': 'v1.34',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  it('quotas requests, including GPUs as requests.nvidia.com/gpu, and gives containers default requests', () => {
    const q = byKind(ns, 'ResourceQuota').find((d) => d.metadata.namespace === 'prod')!;
    expect(q.spec.hard).toEqual({ 'requests.cpu': '64', 'requests.memory': '256Gi', 'requests.nvidia.com/gpu': '4' });
    const devQ = byKind(ns, 'ResourceQuota').find((d) => d.metadata.namespace === 'dev')!;
    expect(devQ.spec.hard['requests.nvidia.com/gpu']).toBe('0');
    const lr = byKind(ns, 'LimitRange').find((d) => d.metadata.namespace === 'prod')!;
    expect(lr.spec.limits[0]).toMatchObject({ type: 'Container', defaultRequest: { cpu: '100m', memory: '256Mi' } });
  });

  it('denies all ingress and egress by default, then allows same-namespace traffic and DNS to kube-dns', () => {
    const p = policies(np, 'dev');
    expect(p['default-deny']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(p['allow-same-namespace']!.ingress).toEqual([{ from: [{ podSelector: {} }] }]);
    expect(p['allow-same-namespace']!.egress).toEqual([{ to: [{ podSelector: {} }] }]);
    expect(p['allow-dns']!.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
      },
    ]);
  });

  it('admits NodePort traffic only to exposed models, only on their port', () => {
    const p = policies(np, 'prod');
    expect(p['allow-nodeport-qwen']).toEqual({
      podSelector: { matchLabels: { 'airgap-k8s.io/model': 'qwen' } },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 11434 }] }],
    });
    expect(p['allow-nodeport-llama']).toBeUndefined();
  });

  it('lets the monitoring namespace from the spec scrape, and nothing when monitoring is off', () => {
    const custom = render({ environments: envs, addons: { monitoring: { namespace: 'observability' } } });
    expect(policies(custom.np, 'dev')['allow-monitoring-scrape']!.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }] },
    ]);
    const off = render({ environments: envs, addons: { monitoring: { enabled: false } } });
    expect(policies(off.np, 'dev')['allow-monitoring-scrape']).toBeUndefined();
  });

  it('opens Dify\'s NodePort, and the path from Dify to models in another environment (egress there, ingress here)', () => {
    const r = render({
      environments: [...envs, { name: 'apps' }],
      models,
      apps: { dify: { enabled: true, environment: 'apps', models: ['qwen', 'llama'] } },
    });
    const apps = policies(r.np, 'apps');
    expect(apps['allow-nodeport-dify']!.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
    expect(apps['allow-dify-to-models']!.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prod' } }, podSelector: { matchLabels: { 'airgap-k8s.io/model': 'qwen' } } }], ports: [{ protocol: 'TCP', port: 11434 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prod' } }, podSelector: { matchLabels: { 'airgap-k8s.io/model': 'llama' } } }], ports: [{ protocol: 'TCP', port: 8000 }] },
    ]);
    const prod = policies(r.np, 'prod');
    expect(prod['allow-dify-to-llama']).toEqual({
      podSelector: { matchLabels: { 'airgap-k8s.io/model': 'llama' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } }], ports: [{ protocol: 'TCP', port: 8000 }] }],
    });
    expect(policies(r.np, 'dev')['allow-dify-to-llama']).toBeUndefined();
  });

  it('needs no cross-namespace rule when Dify shares the models\' namespace', () => {
    const r = render({ environments: envs, models, apps: { dify: { enabled: true, environment: 'prod', models: ['qwen'] } } });
    const prod = policies(r.np, 'prod');
    expect(Object.keys(prod).filter((k) => k.startsWith('allow-dify-to'))).toEqual([]);
    expect(prod['allow-nodeport-dify']).toBeDefined();
  });
});
