// Cross-field rules over a schema-valid spec. Every rule adds to one list; nothing stops at the first problem.
// Errors make the spec unusable; warnings are printed and carried to the API, but rendering goes on.
import { isAtOrBelow, type ClusterSpec, type HostSpec } from './schema.js';
import { issue, type PathSegment, type SpecIssue } from './issues.js';
import { cidrContains, cidrHasHostBits, cidrsOverlap, compareVersions } from './net.js';
import { CONTAINERD_MIN_FOR_K8S_134, kubeMinor, PROVEN_KUBERNETES_MINORS, releaseImages, SUPPORTED_KUBERNETES_MINORS } from '../versions.js';
import { HOST_OSES, osProfile } from '../os/profiles.js';

const RESERVED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kubernetes-dashboard', 'gpu-operator', 'calico-system', 'tigera-operator', 'headlamp']);

export function crossFieldChecks(cluster: ClusterSpec): { errors: SpecIssue[]; warnings: SpecIssue[] } {
  const errors: SpecIssue[] = [];
  const warnings: SpecIssue[] = [];
  const err = (path: PathSegment[], code: string, message: string) => errors.push(issue(path, code, message));
  const warn = (path: PathSegment[], code: string, message: string) => warnings.push(issue(path, code, message));
  const s = cluster.spec;
  const hostPath = (i: number, ...rest: PathSegment[]) => ['spec', 'hosts', i, ...rest];

  // ---- hosts ----
  const byName = new Map<string, number>();
  const byAddress = new Map<string, number>();
  s.hosts.forEach((h, i) => {
    const n = byName.get(h.name);
    if (n !== undefined) err(hostPath(i, 'name'), 'duplicate', `duplicate host name "${h.name}" (also spec.hosts[${n}])`);
    else byName.set(h.name, i);
    const a = byAddress.get(h.address);
    if (a !== undefined) err(hostPath(i, 'address'), 'duplicate', `duplicate address ${h.address} (also spec.hosts[${a}])`);
    else byAddress.set(h.address, i);
    if (h.address.startsWith('127.')) {
      warn(hostPath(i, 'address'), 'loopback', `${h.address} is a loopback address: every host would reach itself there, so only a one-host cluster on the machine running airgap-k8s can work; give the host the address the others reach it at`);
    }
    if (h.gpu && !h.roles.includes('worker')) {
      err(hostPath(i, 'roles'), 'gpu_not_worker', 'a host with a GPU must have the worker role (GPU workloads are scheduled on workers)');
    }
    if (h.gpu && h.roles.includes('control-plane')) {
      warn(hostPath(i, 'roles'), 'gpu_on_control_plane', 'GPU host is also a control plane; its NoSchedule taint is removed so GPU pods can run');
    }
  });

  const cps = s.hosts.map((h, i) => [h, i] as const).filter(([h]) => h.roles.includes('control-plane'));
  const lbs = s.hosts.map((h, i) => [h, i] as const).filter(([h]) => h.roles.includes('load-balancer'));
  if (cps.length === 0) err(['spec', 'hosts'], 'no_control_plane', 'at least one host needs the control-plane role');
  // etcd is stacked on the control planes (kubeadm's default; the only topology offered) and needs a majority of its
  // members: 2 members need both, so either failing stops the cluster — less available than 1, with twice the parts
  // that can fail. 4, 6, ... tolerate no more failures than one fewer, at the cost of slower writes: a warning.
  if (cps.length === 2) {
    err(['spec', 'hosts'], 'two_control_planes', '2 control planes: their stacked etcd needs both members for quorum, so either one failing stops the cluster (less available than 1); use 3 for HA, or 1');
  } else if (cps.length > 2 && cps.length % 2 === 0) {
    warn(['spec', 'hosts'], 'even_control_planes', `${cps.length} control planes: etcd tolerates no more failures than with ${cps.length - 1}; use an odd number`);
  }

  // ---- control plane endpoint and load balancer ----
  const lb = s.controlPlane.loadBalancer;
  const ep = s.controlPlane.endpoint;
  if (lb?.mode === 'keepalived-haproxy') {
    if (!ep) err(['spec', 'controlPlane', 'endpoint'], 'required', 'is required with a load balancer: the virtual IP and port clients use');
    if (lbs.length < 2) {
      err(['spec', 'hosts'], 'lb_hosts', `keepalived needs at least 2 hosts with the load-balancer role, found ${lbs.length}`);
    }
    if (cps.length === 1) err(['spec', 'hosts'], 'ha_control_planes', 'an HA load balancer needs an odd number of control planes, at least 3; found 1');
    if (ep) {
      const owner = byAddress.get(ep.host);
      if (owner !== undefined) {
        err(['spec', 'controlPlane', 'endpoint', 'host'], 'vip_is_host', `the virtual IP ${ep.host} is also the address of spec.hosts[${owner}] (${s.hosts[owner]!.name})`);
      }
      if (s.network.hostSubnet && !cidrContains(s.network.hostSubnet, ep.host)) {
        err(['spec', 'controlPlane', 'endpoint', 'host'], 'vip_subnet', `the virtual IP ${ep.host} is outside spec.network.hostSubnet ${s.network.hostSubnet}; keepalived can only announce it on the hosts' own subnet`);
      }
      if (lbs.some(([h]) => h.roles.includes('control-plane')) && ep.port === lb.backendPort) {
        err(['spec', 'controlPlane', 'endpoint', 'port'], 'port_clash', `haproxy runs on a control-plane host, where the apiserver already listens on ${lb.backendPort}; use another port (the runbook uses 6553)`);
      }
    }
    const declared = [...new Set(lbs.map(([h]) => h.interface).filter((x): x is string => !!x))];
    lbs.forEach(([h, i]) => {
      if (h.interface) return;
      if (declared.length === 1) {
        warn(hostPath(i, 'interface'), 'assumed_interface', `not set; assuming ${declared[0]} as on the other load-balancer hosts`);
      } else {
        err(hostPath(i, 'interface'), 'required', 'is required on load-balancer hosts: keepalived announces the virtual IP on this interface');
      }
    });
    if (lb.unicast && lbs.length > 0 && lbs.length < 2) {
      err(['spec', 'controlPlane', 'loadBalancer', 'unicast'], 'unicast_peers', 'unicast VRRP needs at least one peer');
    }
  } else {
    lbs.forEach(([, i]) => err(hostPath(i, 'roles'), 'lb_without_lb', 'has the load-balancer role but spec.controlPlane.loadBalancer.mode is not keepalived-haproxy'));
    if (lb?.mode === 'external' && !ep) {
      err(['spec', 'controlPlane', 'endpoint'], 'required', 'is required with an external load balancer');
    }
    if (!lb && cps.length > 1 && !ep) {
      err(['spec', 'controlPlane', 'endpoint'], 'required', `is required with ${cps.length} control planes: a virtual IP or an external load balancer in front of them`);
    }
  }

  // ---- networks ----
  const net = s.network;
  const nets: [string, string][] = [
    ['podSubnet', net.podSubnet],
    ['serviceSubnet', net.serviceSubnet],
  ];
  if (net.hostSubnet) nets.push(['hostSubnet', net.hostSubnet]);
  for (const [k, v] of nets) {
    if (k !== 'hostSubnet' && cidrHasHostBits(v)) err(['spec', 'network', k], 'host_bits', `${v} has host bits set; write the network address`);
  }
  for (let a = 0; a < nets.length; a++) {
    for (let b = a + 1; b < nets.length; b++) {
      if (cidrsOverlap(nets[a]![1], nets[b]![1])) {
        err(['spec', 'network', nets[b]![0]], 'overlap', `${nets[b]![1]} overlaps spec.network.${nets[a]![0]} ${nets[a]![1]}`);
      }
    }
  }
  s.hosts.forEach((h, i) => {
    for (const [k, v] of nets.slice(0, 2)) {
      if (cidrContains(v, h.address)) err(hostPath(i, 'address'), 'overlap', `${h.address} lies inside spec.network.${k} ${v}`);
    }
    if (net.hostSubnet && !cidrContains(net.hostSubnet, h.address)) {
      warn(hostPath(i, 'address'), 'outside_host_subnet', `${h.address} is outside spec.network.hostSubnet ${net.hostSubnet}`);
    }
  });
  if (ep) {
    for (const [k, v] of nets.slice(0, 2)) {
      if (cidrContains(v, ep.host)) err(['spec', 'controlPlane', 'endpoint', 'host'], 'overlap', `${ep.host} lies inside spec.network.${k} ${v}`);
    }
  }
  if (net.nodePortRange.from >= net.nodePortRange.to) {
    err(['spec', 'network', 'nodePortRange'], 'range', 'from must be lower than to');
  }

  // ---- versions and compatibility ----
  if (!releaseImages(s.kubernetesVersion)) {
    err(['spec', 'kubernetesVersion'], 'unsupported', `Kubernetes ${s.kubernetesVersion} is not supported by this release (supported: ${SUPPORTED_KUBERNETES_MINORS.map((m) => `v${m}.x`).join(', ')})`);
  } else if (!PROVEN_KUBERNETES_MINORS.includes(kubeMinor(s.kubernetesVersion))) {
    warn(['spec', 'kubernetesVersion'], 'unproven', `Kubernetes ${s.kubernetesVersion}: airgap-k8s plans it (images, upgrade preflight and plan) but has not yet installed or upgraded to it in CI; v1.34.x is proven`);
  }
  checkContainerd(s.containerRuntime.containerd.version, s.kubernetesVersion, warn);
  // what each host OS brings (src/os/profiles.ts): one warning per OS and concern, OSes in the table's order
  const byOs = HOST_OSES.map((os) => [os, osProfile(os), s.hosts.filter((h) => h.os === os)] as const).filter(([, , hs]) => hs.length > 0);
  const containerd = s.containerRuntime.containerd.version;
  for (const [os, p, hs] of byOs) {
    // the code predates the table and API clients may match it; only Debian 12 ships its own containerd so far
    if (p.distroContainerd !== undefined && containerd !== p.distroContainerd) {
      warn(['spec', 'containerRuntime', 'containerd', 'version'], 'debian_containerd', `${p.displayName} ships containerd ${p.distroContainerd}, not ${containerd} (${names(hs)}): packages/${os}/containerd in the bundle must hold containerd ${containerd} from another source; bundle verify and the install check that version`);
    }
  }
  for (const [, p, hs] of byOs) {
    if (p.cgroup === 'v1') {
      const move = p.successor ? `plan the move to ${osProfile(p.successor).displayName} before upgrading` : 'plan a move to cgroup v2 before upgrading';
      warn(['spec', 'hosts'], 'cgroup_v1', `${p.displayName} runs cgroup v1 (${names(hs)}): Kubernetes 1.34 only warns, but from 1.35 the kubelet refuses cgroup v1 unless failCgroupV1 is false; ${move}`);
    }
  }
  const gpuHosts = s.hosts.filter((h) => h.gpu);
  if (s.addons.gpuOperator.enabled) {
    for (const [, p, hs] of byOs) {
      const gpu = hs.filter((h) => h.gpu);
      if (p.gpuOperatorSupport !== undefined && gpu.length > 0) {
        warn(['spec', 'addons', 'gpuOperator'], 'gpu_os', `GPU Operator ${s.addons.gpuOperator.version} ${p.gpuOperatorSupport} (${names(gpu)}); preinstalled drivers and toolkit are the safer path`);
      }
    }
  }
  if (s.addons.gpuOperator.enabled && gpuHosts.length === 0) {
    warn(['spec', 'addons', 'gpuOperator', 'enabled'], 'no_gpu_hosts', 'the GPU Operator is enabled but no host has a gpu');
  }
  if (s.addons.dashboard.enabled && s.addons.dashboard.kind === 'kubernetes-dashboard') {
    warn(['spec', 'addons', 'dashboard', 'kind'], 'archived', 'the Kubernetes Dashboard project is archived; headlamp is its recommended successor');
  }
  if (compareVersions(s.addons.cni.calico.version, 'v3.29.0') < 0) {
    warn(['spec', 'addons', 'cni', 'calico', 'version'], 'untested', `Calico ${s.addons.cni.calico.version} predates Kubernetes 1.34 and was not tested with it upstream`);
  }

  // ---- environments, models, apps ----
  const envIndex = new Map<string, number>();
  s.environments.forEach((e, i) => {
    if (envIndex.has(e.name)) err(['spec', 'environments', i, 'name'], 'duplicate', `duplicate environment "${e.name}"`);
    else envIndex.set(e.name, i);
    if (RESERVED_NAMESPACES.has(e.name) || e.name.startsWith('kube-') || e.name === s.addons.monitoring.namespace) {
      err(['spec', 'environments', i, 'name'], 'reserved', `"${e.name}" is a system or addon namespace`);
    }
    if (e.quota.gpus > 0 && gpuHosts.length === 0) {
      warn(['spec', 'environments', i, 'quota', 'gpus'], 'no_gpu_hosts', 'a GPU quota is set but no host has a gpu');
    }
  });
  const maxGpus = Math.max(0, ...gpuHosts.map((h) => h.gpu!.count));
  const totalGpus = gpuHosts.reduce((n, h) => n + h.gpu!.count, 0);
  const modelIndex = new Map<string, number>();
  const gpusPerEnv = new Map<string, number>();
  s.models.forEach((m, i) => {
    const p = (...rest: PathSegment[]) => ['spec', 'models', i, ...rest];
    if (modelIndex.has(m.name)) err(p('name'), 'duplicate', `duplicate model name "${m.name}"`);
    else modelIndex.set(m.name, i);
    if (!envIndex.has(m.environment)) err(p('environment'), 'unknown_reference', `environment "${m.environment}" is not in spec.environments`);
    if (m.engine === 'vllm' && m.gpus < 1) err(p('gpus'), 'too_small', 'vLLM needs at least 1 GPU');
    if (m.gpus > 0 && gpuHosts.length === 0) err(p('gpus'), 'no_gpu_hosts', `asks for ${m.gpus} GPU(s) but no host has a gpu`);
    else if (m.gpus > maxGpus) err(p('gpus'), 'too_many', `asks for ${m.gpus} GPUs but the largest GPU host has ${maxGpus}; a pod cannot span hosts`);
    if (m.engine === 'vllm' && m.gpus > 1 && (m.gpus & (m.gpus - 1)) !== 0) {
      warn(p('gpus'), 'tensor_parallel', `tensor parallelism over ${m.gpus} GPUs: most models' attention heads divide only by powers of two (2, 4, 8)`);
    }
    if (m.gpus > 0 && !s.addons.gpuOperator.enabled) {
      warn(p('gpus'), 'no_device_plugin', 'asks for GPUs but the GPU Operator is disabled: nothing advertises nvidia.com/gpu or labels nodes nvidia.com/gpu.present; the pod stays Pending unless you install the device plugin and label the GPU nodes yourself');
    }
    if (m.engine === 'ollama' && !m.modelFile) {
      warn(p('modelFile'), 'no_offline_model', `nothing loads "${m.model}" offline (ollama pull needs the internet): set modelFile to a GGUF in the bundle, or seed the model volume by hand`);
    }
    gpusPerEnv.set(m.environment, (gpusPerEnv.get(m.environment) ?? 0) + m.gpus);
  });
  for (const [env, used] of gpusPerEnv) {
    const i = envIndex.get(env);
    if (i === undefined) continue;
    const quota = s.environments[i]!.quota.gpus;
    if (used > quota) err(['spec', 'environments', i, 'quota', 'gpus'], 'quota_exceeded', `models in "${env}" ask for ${used} GPU(s), more than its quota of ${quota}`);
  }
  const modelGpus = s.models.reduce((n, m) => n + m.gpus, 0);
  if (modelGpus > totalGpus && gpuHosts.length > 0) {
    warn(['spec', 'models'], 'gpu_overcommit', `models ask for ${modelGpus} GPUs in total; the GPU hosts have ${totalGpus}: some will stay Pending`);
  }
  const dify = s.apps.dify;
  if (dify.enabled) {
    if (!envIndex.has(dify.environment)) err(['spec', 'apps', 'dify', 'environment'], 'unknown_reference', `environment "${dify.environment}" is not in spec.environments`);
    dify.models.forEach((m, i) => {
      if (!modelIndex.has(m)) err(['spec', 'apps', 'dify', 'models', i], 'unknown_reference', `model "${m}" is not in spec.models`);
    });
    s.models.forEach((m, i) => {
      if (m.environment === dify.environment && (m.name === 'dify' || m.name.startsWith('dify-'))) {
        err(['spec', 'models', i, 'name'], 'name_clash', `"${m.name}" would clash with the Dify release's objects in namespace ${dify.environment}; names starting with "dify" are reserved there`);
      }
    });
  }

  // ---- NodePorts: unique and in range ----
  const ports: [PathSegment[], number][] = [];
  if (s.addons.dashboard.enabled) ports.push([['spec', 'addons', 'dashboard', 'nodePort'], s.addons.dashboard.nodePort]);
  if (s.addons.monitoring.enabled) ports.push([['spec', 'addons', 'monitoring', 'grafana', 'nodePort'], s.addons.monitoring.grafana.nodePort]);
  s.models.forEach((m, i) => {
    if (m.service.nodePort !== undefined) ports.push([['spec', 'models', i, 'service', 'nodePort'], m.service.nodePort]);
  });
  if (dify.enabled) ports.push([['spec', 'apps', 'dify', 'service', 'nodePort'], dify.service.nodePort]);
  const usedPorts = new Map<number, string>();
  for (const [path, port] of ports) {
    const { from, to } = net.nodePortRange;
    if (port < from || port > to) err(path, 'node_port_range', `${port} is outside the NodePort range ${from}-${to}`);
    const prev = usedPorts.get(port);
    if (prev) err(path, 'duplicate', `NodePort ${port} is already used by ${prev}`);
    else usedPorts.set(port, issue(path, '', '').path);
  }

  // ---- etcd snapshots: kept where nothing else of ours removes them ----
  const snap = s.etcd.snapshots;
  if (snap.enabled && isAtOrBelow(snap.dir, s.offline.bundleDir)) {
    err(['spec', 'etcd', 'snapshots', 'dir'], 'snapshots_in_bundle', `${snap.dir} is inside spec.offline.bundleDir ${s.offline.bundleDir}, which \`reset --purge\` removes with everything in it; keep the snapshots elsewhere (default /var/backups/etcd)`);
  }

  return { errors, warnings };
}

function checkContainerd(version: string, kube: string, warn: (p: PathSegment[], c: string, m: string) => void): void {
  const path = ['spec', 'containerRuntime', 'containerd', 'version'];
  const minor = version.split('.').slice(0, 2).join('.');
  if (kubeMinor(kube) !== '1.34') return;
  const min = CONTAINERD_MIN_FOR_K8S_134[minor];
  if (minor === '1.6') {
    warn(path, 'containerd_eol', `containerd 1.6 reached end of life on 2025-08-23; prefer 1.7.28+ or 2.1.3+`);
  }
  if (!min) {
    if (compareVersions(version, '2.1.0') < 0) warn(path, 'containerd_matrix', `containerd ${version} is not in the Kubernetes 1.34 support matrix (2.1.3+, 2.0.6+, 1.7.28+, 1.6.39+)`);
  } else if (compareVersions(version, min) < 0) {
    warn(path, 'containerd_matrix', `containerd ${version} is below the Kubernetes 1.34 support matrix (needs ${min}+ in ${minor}.x; 2.1.3+, 2.0.6+, 1.7.28+, 1.6.39+)`);
  }
}

function names(hosts: HostSpec[]): string {
  return hosts.map((h) => h.name).join(', ');
}
