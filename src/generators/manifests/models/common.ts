// What every model workload shares: GPU placement, labels, ports, service URLs, and the read-only host directories
// (offline bundle, model weights) handed to pods through pre-bound PersistentVolumes.
//
// Decisions (docs/dify-models.md repeats them for operators):
// - GPU placement: nodeSelector nvidia.com/gpu.present=true plus a toleration for the nvidia.com/gpu:NoSchedule taint
//   that GPU hosts carry; nothing else in our manifests tolerates that taint.
// - No runtimeClassName: on GPU hosts nvidia is containerd's DEFAULT runtime (our containerd drop-in sets
//   default_runtime_name = "nvidia"; the GPU Operator's toolkit does the same with CONTAINERD_SET_AS_DEFAULT), and a
//   GPU pod can only land on a GPU host. Naming a RuntimeClass would make the pods depend on an object that exists only
//   when the GPU Operator renders it.
// - Host directories reach pods as hostPath PersistentVolumes pre-bound (claimRef) to one claim each, never as pod
//   hostPath volumes: the environment namespaces enforce the `baseline` Pod Security level, which forbids hostPath in
//   pods, and tenants cannot create PersistentVolumes (cluster-scoped), so they cannot mount other host paths.
// - enableServiceLinks: false on model pods: Kubernetes would inject e.g. VLLM_PORT=tcp://... for a Service named
//   "vllm", which vLLM reads as its own setting and fails on.
import type { ClusterView } from '../../../spec/derive.js';
import type { ModelSpec } from '../../../spec/schema.js';
import { resolveImage } from '../../../images.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const GPU_NODE_LABEL = 'nvidia.com/gpu.present';
export const GPU_TAINT_KEY = 'nvidia.com/gpu';
export const GPU_TOLERATION = { key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' } as const;

/** Pinned upstream images (verified tags); a model's `image` overrides. */
export const DEFAULT_IMAGES = {
  ollama: 'docker.io/ollama/ollama:0.12.6',
  vllm: 'docker.io/vllm/vllm-openai:v0.11.0',
} as const;

export const MODEL_PORTS = { ollama: 11434, vllm: 8000 } as const;

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'airgap-k8s' } as const;
export const MODEL_LABEL = 'airgap-k8s.io/model';

export function modelSelector(m: ModelSpec): Record<string, string> {
  return { [MODEL_LABEL]: m.name };
}

export function modelLabels(m: ModelSpec): Record<string, string> {
  return {
    'app.kubernetes.io/name': m.engine,
    'app.kubernetes.io/instance': m.name,
    'app.kubernetes.io/component': 'model-server',
    ...MANAGED_BY,
    'airgap-k8s.io/environment': m.environment,
    ...modelSelector(m),
  };
}

export function modelPort(m: ModelSpec): number {
  return MODEL_PORTS[m.engine];
}

export function modelImage(view: ClusterView, m: ModelSpec): string {
  return resolveImage(m.image ?? DEFAULT_IMAGES[m.engine], view.registry);
}

/** The in-cluster base URL clients (Dify) use: Ollama's native API, or vLLM's OpenAI-compatible /v1. */
export function modelServiceUrl(view: ClusterView, m: ModelSpec): string {
  const host = `${m.name}.${m.environment}.svc.${view.cluster.spec.network.dnsDomain}`;
  return m.engine === 'ollama' ? `http://${host}:${modelPort(m)}` : `http://${host}:${modelPort(m)}/v1`;
}

/** nodeSelector + tolerations for a pod asking for `gpus` GPUs; nothing for CPU-only pods. */
export function gpuPlacement(gpus: number): { nodeSelector?: Record<string, string>; tolerations?: object[] } {
  if (gpus <= 0) return {};
  return { nodeSelector: { [GPU_NODE_LABEL]: 'true' }, tolerations: [{ ...GPU_TOLERATION }] };
}

export function modelService(m: ModelSpec): object {
  const nodePort = m.service.nodePort;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.name, namespace: m.environment, labels: modelLabels(m) },
    spec: {
      type: nodePort === undefined ? 'ClusterIP' : 'NodePort',
      selector: modelSelector(m),
      ports: [{ name: 'http', protocol: 'TCP', port: modelPort(m), targetPort: 'http', nodePort }],
    },
  };
}

/**
 * The Deployment every model server uses: one replica, Recreate (a rolling update would need a second set of GPUs, and
 * GPU quota, while the old pod still runs; Ollama's store is also a ReadWriteOnce claim), GPU placement, no service links.
 */
export function modelDeployment(m: ModelSpec, pod: Record<string, unknown>): object {
  const labels = modelLabels(m);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: m.name, namespace: m.environment, labels },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: modelSelector(m) },
      template: { metadata: { labels }, spec: { enableServiceLinks: false, ...gpuPlacement(m.gpus), ...pod } },
    },
  };
}

/**
 * A host directory as a read-only volume: a hostPath PersistentVolume pre-bound to one claim in the model's namespace.
 * `capacity` is nominal (hostPath ignores it) but must match the claim's request for binding.
 */
export function hostDirectoryClaim(m: ModelSpec, claimName: string, hostPath: string): object[] {
  const pvName = `${m.environment}-${claimName}`;
  const labels = { ...modelLabels(m) };
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, labels },
      spec: {
        accessModes: ['ReadOnlyMany'],
        capacity: { storage: '1Gi' },
        claimRef: { namespace: m.environment, name: claimName },
        hostPath: { path: hostPath, type: 'Directory' },
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        volumeMode: 'Filesystem',
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claimName, namespace: m.environment, labels },
      spec: {
        accessModes: ['ReadOnlyMany'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: '',
        volumeName: pvName,
        volumeMode: 'Filesystem',
      },
    },
  ];
}

/** File name of a model's manifests: 60-model-<name>.yaml (apply order band 60-69). */
export function modelFilePath(m: ModelSpec, suffix = ''): string {
  return `cluster/60-model-${m.name}${suffix}.yaml`;
}
