// NVIDIA GPU Operator (spec.addons.gpuOperator) from the chart in the offline bundle, plus the runbook's GPU check.
//   cluster/30-gpu-operator.yaml              Namespace gpu-operator (Pod Security `privileged`: the operands are
//                                             privileged host agents) and the `nvidia` RuntimeClass (handler nvidia)
//   cluster/helm/gpu-operator.values.yaml     release gpu-operator, order 30
//   cluster/39-gpu-check.yaml                 the runbook's gpu-test.yaml as two Jobs the plan waits for (before models):
//                                             CUDA vectorAdd and nvidia-smi, one GPU each, on GPU hosts only
// Rendered only when the operator is enabled AND some host has a GPU (the validator warns about the other case).
//
// Decisions:
// - Air-gap: the chart has no global registry key, so EVERY deployed component gets repository/image/version pinned,
//   and the ones we do not deploy are switched off explicitly (standalone DCGM, node-status-exporter, GDS, GDRCopy,
//   vGPU manager, Kata/CC managers; the sandbox operands stay off with sandboxWorkloads.enabled=false). images()
//   lists exactly what the pinned components pull.
// - driver/toolkit `preinstalled` (the runbook: rpms on the host) -> driver.enabled/toolkit.enabled false.
// - toolkit `operator`: since toolkit 1.18 (operator 25.10) the toolkit writes its containerd settings to a DROP-IN
//   (gpu-operator #1425) instead of rewriting config.toml (#992/#1323: it clobbered hand-made configs). We name the
//   files: CONTAINERD_CONFIG = our /etc/containerd/config.toml (the toolkit only makes sure its `imports` covers the
//   drop-in; ours already does on GPU hosts), RUNTIME_DROP_IN_CONFIG = /etc/containerd/conf.d/99-nvidia.toml, and
//   RUNTIME_CONFIG_SOURCE = command,file so the drop-in is built from `containerd config dump` (our effective CRI
//   settings) — containerd < 2.1 replaces whole sections from a drop-in (facts.md #4). With the operator's toolkit,
//   99-nvidia.toml belongs to the operator: the host-side containerd generator must not also write it.
// - CDI off: operator 25.10 defaults to CDI, which leaves the default runtime alone and relies on containerd's native
//   CDI support — absent in containerd 1.6 (the runbook's 1.6.32). With CDI off, nvidia stays containerd's DEFAULT
//   runtime on GPU hosts (our drop-in, or the toolkit's NVIDIA_RUNTIME_SET_AS_DEFAULT), which the model workloads and
//   the GPU check rely on (they name no runtimeClassName).
// - Driver image tag: the operator appends the node's OS (NFD labels ID+VERSION_ID), e.g. 580.105.08-rhel8.9.
import type { ClusterView } from '../../../spec/derive.js';
import { osProfile } from '../../../os/profiles.js';
import { parseImage, resolveImage } from '../../../images.js';
import { yamlFile } from '../../render/yaml.js';
import { clusterFile, type RenderInputs, type GeneratedFile, type ClusterUnit } from '../../types.js';
import { applyUnit, helmUnit, jobsIn, type AddonModule } from '../addon.js';
import { valuesPath, type HelmRelease } from '../helm.js';

const GENERATOR = 'gpu-operator';
export const GPU_OPERATOR_NAMESPACE = 'gpu-operator';
export const GPU_OPERATOR_RELEASE = 'gpu-operator';
export const GPU_OPERATOR_MANIFEST_PATH = 'cluster/30-gpu-operator.yaml';
// Before the models (60-*): on a host whose GPUs the models take, a later check would wait forever.
export const GPU_CHECK_PATH = 'cluster/39-gpu-check.yaml';
export const NVIDIA_RUNTIME_CLASS = 'nvidia';
/** The drop-in the operator's toolkit owns when spec toolkit = operator. */
export const OPERATOR_TOOLKIT_DROPIN = '/etc/containerd/conf.d/99-nvidia.toml';
export const CONTAINERD_TOP_LEVEL_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_SOCKET_PATH = '/run/containerd/containerd.sock';

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const GPU_NODE_LABEL = 'nvidia.com/gpu.present';
/** The kubeadm generator taints GPU hosts nvidia.com/gpu:NoSchedule. */
export const GPU_TOLERATION = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'airgap-k8s' };

/** Components of one operator release, as upstream references (repository/image:version in the chart's terms). */
export interface GpuOperatorRelease {
  operator: string; // also the validator image
  initContainer: string; // operands' init container (CUDA base image)
  devicePlugin: string; // also gpu-feature-discovery
  dcgmExporter: string;
  migManager: string;
  nfd: string;
  /** driver without the OS suffix the operator appends */
  driver: string;
  driverManager: string;
  toolkit: string;
  /** the runbook's GPU check */
  cudaVectorAdd: string;
}

export const GPU_OPERATOR_RELEASES: Record<string, GpuOperatorRelease> = {
  'v25.10.1': {
    operator: 'nvcr.io/nvidia/gpu-operator:v25.10.1',
    initContainer: 'nvcr.io/nvidia/cuda:13.0.1-base-ubi9',
    devicePlugin: 'nvcr.io/nvidia/k8s-device-plugin:v0.18.1',
    dcgmExporter: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.4.2-4.7.0-distroless',
    migManager: 'nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.13.1',
    nfd: 'registry.k8s.io/nfd/node-feature-discovery:v0.18.2',
    driver: 'nvcr.io/nvidia/driver:580.105.08',
    driverManager: 'nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.9.1',
    toolkit: 'nvcr.io/nvidia/k8s/container-toolkit:v1.18.1',
    cudaVectorAdd: 'nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0-ubuntu22.04',
  },
};

function spec(view: ClusterView) {
  return view.cluster.spec.addons.gpuOperator;
}

/** Whether anything of the GPU Operator is rendered: enabled, and at least one host has a GPU. */
export function gpuOperatorActive(view: ClusterView): boolean {
  return spec(view).enabled && view.gpuHosts.length > 0;
}

function release(view: ClusterView): GpuOperatorRelease {
  const r = GPU_OPERATOR_RELEASES[spec(view).version];
  if (!r) throw new Error(`gpu-operator: no image table for GPU Operator ${spec(view).version} (validate the spec first)`);
  return r;
}

/** Driver images with the OS suffix (the profile's gpuDriverOsTag), one per GPU host OS. */
function driverImages(view: ClusterView, r: GpuOperatorRelease): string[] {
  const oses = [...new Set(view.gpuHosts.map((h) => h.os))].sort();
  return oses.map((os) => `${r.driver}-${osProfile(os).gpuDriverOsTag}`);
}

/** Upstream references of everything the chart and the GPU check pull with our values. */
export function gpuOperatorUpstreamImages(view: ClusterView): string[] {
  const r = release(view);
  const s = spec(view);
  const images = [r.operator, r.initContainer, r.devicePlugin, r.dcgmExporter, r.migManager, r.nfd, r.cudaVectorAdd];
  if (s.driver === 'operator') images.push(...driverImages(view, r), r.driverManager);
  if (s.toolkit === 'operator') images.push(r.toolkit);
  return [...new Set(images)].sort();
}

/** repository (registry included) / image / version, as the operator joins them: "<repository>/<image>:<version>". */
function repoImageVersion(upstream: string, registry: string): { repository: string; image: string; version: string } {
  const i = parseImage(upstream);
  const slash = i.path.lastIndexOf('/');
  const dir = slash >= 0 ? i.path.slice(0, slash) : '';
  const name = i.path.slice(slash + 1);
  const host = registry || i.host;
  return { repository: dir ? `${host}/${dir}` : host, image: name, version: i.tag };
}

/**
 * The chart's (v25.10.1 values.yaml) image repositories of the components we do not deploy, by values path. With a
 * registry they are sent there too, so that a site enabling one later pulls from its registry (and fails plainly
 * until the image is there) instead of silently reaching for nvcr.io. Their images are not in the bundle.
 */
const UNDEPLOYED_REPOSITORIES: [path: string, upstream: string][] = [
  ['driver', 'nvcr.io/nvidia'],
  ['driver.manager', 'nvcr.io/nvidia/cloud-native'],
  ['toolkit', 'nvcr.io/nvidia/k8s'],
  ['dcgm', 'nvcr.io/nvidia/cloud-native'],
  ['nodeStatusExporter', 'nvcr.io/nvidia/cloud-native'],
  ['gds', 'nvcr.io/nvidia/cloud-native'],
  ['gdrcopy', 'nvcr.io/nvidia/cloud-native'],
  ['vgpuManager.driverManager', 'nvcr.io/nvidia/cloud-native'],
  ['vgpuDeviceManager', 'nvcr.io/nvidia/cloud-native'],
  ['vfioManager', 'nvcr.io/nvidia'],
  ['vfioManager.driverManager', 'nvcr.io/nvidia/cloud-native'],
  ['kataManager', 'nvcr.io/nvidia/cloud-native'],
  ['sandboxDevicePlugin', 'nvcr.io/nvidia'],
  ['ccManager', 'nvcr.io/nvidia/cloud-native'],
];

/** `repository` at each undeployed component's path, moved under the registry (nothing without one). */
function undeployedRepositories(values: Record<string, any>, registry: string): void {
  if (!registry) return;
  for (const [path, upstream] of UNDEPLOYED_REPOSITORIES) {
    let at = values;
    for (const k of path.split('.')) at = at[k] ??= {};
    // a component we deploy already has its pinned repository
    at.repository ??= `${registry}/${upstream.slice(upstream.indexOf('/') + 1)}`;
  }
  // Kata's runtime classes name artifact images on nvcr.io; Kata is not deployed, and a site enabling it lists its own
  values.kataManager.config = { runtimeClasses: [] };
}

function gpuOperatorValues(view: ClusterView): object {
  const r = release(view);
  const s = spec(view);
  const reg = view.registry;
  const pin = (u: string) => repoImageVersion(u, reg);
  const nfd = parseImage(r.nfd);
  const toolkitOn = s.toolkit === 'operator';
  const driverOn = s.driver === 'operator';
  const values: Record<string, any> = {
    operator: { ...pin(r.operator), initContainer: pin(r.initContainer), runtimeClass: NVIDIA_RUNTIME_CLASS },
    validator: pin(r.operator),
    cdi: { enabled: false },
    driver: driverOn
      ? { enabled: true, ...pin(r.driver), manager: pin(r.driverManager) }
      : { enabled: false },
    toolkit: toolkitOn
      ? {
          enabled: true,
          ...pin(r.toolkit),
          env: [
            { name: 'CONTAINERD_CONFIG', value: CONTAINERD_TOP_LEVEL_CONFIG },
            { name: 'RUNTIME_DROP_IN_CONFIG', value: OPERATOR_TOOLKIT_DROPIN },
            { name: 'RUNTIME_CONFIG_SOURCE', value: 'command,file' },
            { name: 'CONTAINERD_SOCKET', value: CONTAINERD_SOCKET_PATH },
            { name: 'NVIDIA_RUNTIME_SET_AS_DEFAULT', value: 'true' },
          ],
        }
      : { enabled: false },
    devicePlugin: { enabled: true, ...pin(r.devicePlugin) },
    gfd: { enabled: true, ...pin(r.devicePlugin) },
    dcgmExporter: { enabled: true, ...pin(r.dcgmExporter) },
    migManager: { enabled: true, ...pin(r.migManager) },
    nfd: { enabled: true },
    'node-feature-discovery': { image: { repository: resolveImage(r.nfd, reg).slice(0, -(nfd.tag.length + 1)), tag: nfd.tag } },
    // Not deployed; off explicitly so no default (upstream) image is ever pulled.
    dcgm: { enabled: false },
    nodeStatusExporter: { enabled: false },
    gds: { enabled: false },
    gdrcopy: { enabled: false },
    vgpuManager: { enabled: false },
    kataManager: { enabled: false },
    ccManager: { enabled: false },
    sandboxWorkloads: { enabled: false },
  };
  undeployedRepositories(values, reg);
  return values;
}

function operatorObjects(): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: GPU_OPERATOR_NAMESPACE,
        labels: { ...MANAGED_BY, 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    },
    {
      // The operator also creates (and then owns) this class; having it before the chart lets workloads name it early.
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: NVIDIA_RUNTIME_CLASS, labels: MANAGED_BY },
      handler: NVIDIA_RUNTIME_CLASS,
    },
  ];
}

/** A one-GPU Job on a GPU host (selector + the GPU taint's toleration), as the runbook's gpu-test.yaml. */
function gpuJob(name: string, container: object, restartPolicy: 'OnFailure' | 'Never'): object {
  const labels = { ...MANAGED_BY, 'app.kubernetes.io/name': 'gpu-check', 'app.kubernetes.io/instance': name };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', labels },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 900,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy,
          nodeSelector: { [GPU_NODE_LABEL]: 'true' },
          tolerations: [{ ...GPU_TOLERATION }],
          containers: [container],
        },
      },
    },
  };
}

export function gpuCheckJobs(view: ClusterView): object[] {
  const r = release(view);
  const limits = { [GPU_RESOURCE]: 1 };
  return [
    gpuJob(
      'gpu-check-nvidia-smi',
      {
        name: 'nvidia-smi',
        // The operands' CUDA base image (already in the bundle); the nvidia runtime injects nvidia-smi.
        image: resolveImage(r.initContainer, view.registry),
        command: ['nvidia-smi'],
        resources: { limits },
      },
      'Never',
    ),
    gpuJob(
      'gpu-check-vectoradd',
      { name: 'cuda-vectoradd', image: resolveImage(r.cudaVectorAdd, view.registry), resources: { limits } },
      'OnFailure',
    ),
  ];
}

export const gpuOperatorAddon: AddonModule = {
  name: GENERATOR,
  units(view: ClusterView, _facts: RenderInputs): ClusterUnit[] {
    if (!gpuOperatorActive(view)) return [];
    const [release] = gpuOperatorAddon.helmReleases(view);
    const checks = gpuCheckJobs(view);
    return [
      applyUnit('gpu-operator-namespace', 'addons', clusterFile(GENERATOR, GPU_OPERATOR_MANIFEST_PATH, yamlFile(view.name, operatorObjects()))),
      {
        ...helmUnit('addons', release!, clusterFile(GENERATOR, valuesPath(GPU_OPERATOR_RELEASE), yamlFile(view.name, [gpuOperatorValues(view)])), ['gpu-operator-namespace']),
        verify: [{ kind: 'pods-ready', namespace: GPU_OPERATOR_NAMESPACE }],
      },
      // the GPU check completes before anything later may take the GPUs
      applyUnit('gpu-check', 'addons', clusterFile(GENERATOR, GPU_CHECK_PATH, yamlFile(view.name, checks)), { after: [GPU_OPERATOR_RELEASE], waitFor: jobsIn(checks) }),
    ];
  },
  images(view: ClusterView): string[] {
    if (!gpuOperatorActive(view)) return [];
    return gpuOperatorUpstreamImages(view).map((u) => resolveImage(u, view.registry)).sort();
  },
  helmReleases(view: ClusterView): HelmRelease[] {
    if (!gpuOperatorActive(view)) return [];
    const v = spec(view).version;
    return [
      {
        release: GPU_OPERATOR_RELEASE,
        namespace: GPU_OPERATOR_NAMESPACE,
        chart: 'gpu-operator',
        version: v,
        bundlePath: `charts/gpu-operator-${v}.tgz`,
      },
    ];
  },
};
