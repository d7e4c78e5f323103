// kubeadm configuration (kubeadm.k8s.io/v1beta4) for every Kubernetes host, and the cluster CA on the first control
// plane. Replaces the runbook's `kubeadm init --control-plane-endpoint ... --upload-certs` and its two `kubeadm join`
// lines, fixing what they got wrong (../shared/reference/facts.md #6):
//   - the control-plane join carries certificateKey (the runbook omitted --certificate-key, so joins could not
//     fetch the shared certificates);
//   - every join, worker or control plane, goes through the endpoint (VIP:port), never one master's :6443;
//   - joins pin the CA (caCertHashes) instead of trusting whatever answers: the CA is ours, made before init
//     (kubeadm keeps a user-provided ca.crt/ca.key and generates the rest), so its hash is known up front.
// The init file must be run with --upload-certs (a flag only; v1beta4 has no field for it), within 2 hours of
// which the other control planes join (kubeadm deletes the uploaded certificates after that; re-upload with
// `kubeadm init phase upload-certs --upload-certs --config FILE`).
import type { ClusterView, HostView } from '../../spec/derive.js';
import { DEFAULT_ENCRYPTION_ALGORITHM, type EncryptionAlgorithm } from '../../spec/schema.js';
import { osProfile } from '../../os/profiles.js';
import { hashMarker } from '../render/marker.js';
import { hasOverlay, overlayComment } from '../overlay.js';
import { toYaml } from '../render/yaml.js';
import { hostFile, type RenderInputs, type Generator, hostUnits, type HostUnit, type HostFile } from '../types.js';
import type { HostPhase } from '../../phases.js';
import { CA_CERT_PATH, CA_KEY_PATH, KUBEADM_INIT_CONFIG, KUBEADM_JOIN_CONFIG, OVERLAY_RESOLV_CONF } from '../../host-paths.js';

export const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';

/** The command each file is meant for (printed in the file; the planner runs the same). */
export const KUBEADM_INIT_COMMAND = `kubeadm init --config ${KUBEADM_INIT_CONFIG} --upload-certs`;
export const KUBEADM_JOIN_COMMAND = `kubeadm join --config ${KUBEADM_JOIN_CONFIG}`;

/**
 * GPU hosts are registered with this taint so that only pods that ask for GPUs (and tolerate it) land there.
 * Workload manifests tolerate it with `{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}`; the GPU
 * Operator's daemonsets tolerate it by default. No value: a toleration with operator Exists matches it either way.
 */
export const GPU_TAINT = { key: 'nvidia.com/gpu', effect: 'NoSchedule' } as const;

/** Bootstrap token lifetime: long enough to join every host of one run; kubeadm's own default. */
export const BOOTSTRAP_TOKEN_TTL = '24h0m0s';

/**
 * Control-plane health wait for init and control-plane joins. kubeadm's default is 4m; the runbook's control planes
 * are 2-core VMs on which etcd + apiserver start slowly, and a timed-out init costs a `kubeadm reset` and a rerun.
 */
export const CONTROL_PLANE_HEALTH_TIMEOUT = '10m0s';

type Arg = { name: string; value: string };
type Taint = { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' };

/** "host:port" of the endpoint everything talks to (VIP and LB port with HA, the single control plane without). */
export function endpointAddress(view: ClusterView): string {
  return `${view.endpoint.host}:${view.endpoint.port}`;
}

/** The port each apiserver binds: what haproxy balances to (backendPort), 6443 without a managed LB. */
export function apiServerBindPort(view: ClusterView): number {
  return view.cluster.spec.controlPlane.loadBalancer?.backendPort ?? 6443;
}

/**
 * Taints a host registers with. undefined leaves kubeadm's default: the control-plane taint on control planes,
 * none on workers. A control plane that is also a worker is registered untainted so it takes workloads; a GPU host
 * carries only the GPU taint (on a GPU control plane that replaces the control-plane taint, as the validator warns).
 */
export function nodeTaints(h: HostView): Taint[] | undefined {
  if (h.isGpu) return [{ ...GPU_TAINT }];
  if (h.isControlPlane && h.isWorker) return [];
  return undefined;
}

function nodeRegistration(h: HostView, inputs: Pick<RenderInputs, 'overlay'>) {
  const kubeletExtraArgs: Arg[] = [{ name: 'node-ip', value: h.address }];
  return {
    name: h.name,
    criSocket: CRI_SOCKET,
    imagePullPolicy: 'IfNotPresent',
    kubeletExtraArgs,
    taints: nodeTaints(h),
    // overlay container-node: no kernel config in a container for the system verification to read
    ignorePreflightErrors: hasOverlay(inputs, 'container-node') ? ['SystemVerification'] : undefined,
  };
}

/** apiserver certificate SANs: the endpoint host, every control plane's address and name (deduplicated, in order). */
export function apiServerCertSANs(view: ClusterView): string[] {
  const sans = [view.endpoint.host, ...view.controlPlanes.flatMap((h) => [h.address, h.name])];
  return [...new Set(sans)];
}

export function initConfiguration(view: ClusterView, inputs: RenderInputs, h: HostView) {
  return {
    apiVersion: KUBEADM_API,
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: inputs.secrets.bootstrapToken,
        description: `airgap-k8s join token for cluster ${view.name}`,
        ttl: BOOTSTRAP_TOKEN_TTL,
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ],
    certificateKey: inputs.secrets.certificateKey,
    localAPIEndpoint: { advertiseAddress: h.address, bindPort: apiServerBindPort(view) },
    nodeRegistration: nodeRegistration(h, inputs),
    timeouts: { controlPlaneComponentHealthCheck: CONTROL_PLANE_HEALTH_TIMEOUT },
  };
}

/**
 * The key algorithm of the cluster: the spec's, else the CA's (an existing cluster keeps its kind of key), else that
 * of a new CA. The secrets check refuses a CA of another algorithm than the spec names, and one kubeadm never makes.
 */
export function encryptionAlgorithm(view: ClusterView, inputs: Pick<RenderInputs, 'caAlgorithm'>): EncryptionAlgorithm {
  return view.cluster.spec.controlPlane.pki.encryptionAlgorithm ?? inputs.caAlgorithm ?? DEFAULT_ENCRYPTION_ALGORITHM;
}

export function clusterConfiguration(view: ClusterView, inputs: Pick<RenderInputs, 'caAlgorithm'>) {
  const net = view.cluster.spec.network;
  return {
    apiVersion: KUBEADM_API,
    kind: 'ClusterConfiguration',
    clusterName: view.name,
    // Always set: without it kubeadm asks the network for "stable".
    kubernetesVersion: view.kubernetesVersion,
    controlPlaneEndpoint: endpointAddress(view),
    // Only with a private registry. kubeadm then pulls <registry>/kube-apiserver, .../etcd, .../pause and
    // <registry>/coredns:<tag> (flattened, not coredns/coredns): src/images.ts kubeadmImages lists exactly these.
    imageRepository: view.registry || undefined,
    networking: { podSubnet: net.podSubnet, serviceSubnet: net.serviceSubnet, dnsDomain: net.dnsDomain },
    apiServer: { certSANs: apiServerCertSANs(view) },
    etcd: { local: { dataDir: '/var/lib/etcd' } },
    // every key kubeadm makes (certificates, the front-proxy and etcd CAs, the service-account key) is of this
    // algorithm, like our CA: always written, since kubeadm's own default (RSA-2048) is not ours
    encryptionAlgorithm: encryptionAlgorithm(view, inputs),
  };
}

/** Whether any host boots cgroup v1 (RHEL 8). */
export function usesCgroupV1(view: ClusterView): boolean {
  return view.hosts.some((h) => osProfile(h.os).cgroup === 'v1');
}

/** overlay container-node: the resolv.conf kubelet hands to pods with dnsPolicy Default (CoreDNS itself) */

export function kubeletConfiguration(view: ClusterView, inputs: Pick<RenderInputs, 'overlay'> = {}) {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // containerd runs runc with SystemdCgroup = true (src/generators/containerd); both sides must agree.
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: CRI_SOCKET,
    // RHEL 8 runs cgroup v1. Kubernetes 1.34 only warns about it (failCgroupV1 defaults to false), but the default is
    // set to flip to true, which would stop every kubelet on these hosts at the next upgrade. Setting it explicitly
    // keeps the choice visible in the kubelet-config ConfigMap; the validator warns (cgroup_v1) to plan RHEL 9.
    failCgroupV1: usesCgroupV1(view) ? false : undefined,
    // overlay container-node: a node container's resolv.conf names docker's 127.0.0.11, which inside CoreDNS's pod
    // is CoreDNS itself (its loop plugin stops it); the rehearsal network has no upstream DNS to name instead
    resolvConf: hasOverlay(inputs, 'container-node') ? OVERLAY_RESOLV_CONF : undefined,
    // overlay container-node: the node's image filesystem is the shared machine's disk, whose use other work moves;
    // image GC there deleted bundle images a pod needed later, and offline nothing pulls them back (seen: busybox
    // and local-path-provisioner, then ImagePullBackOff). 100 turns image GC off.
    ...(hasOverlay(inputs, 'container-node') ? { imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99 } : {}),
    // ... and for the same reason disk-pressure eviction thresholds are the machine's, not the node's: at 15% free
    // (the default imagefs.available) every node was tainted disk-pressure and nothing scheduled (seen: CoreDNS
    // Pending for 10 minutes while the bundles of two Kubernetes versions filled the shared disk). Listed whole: a
    // partial evictionHard turns the others off.
    ...(hasOverlay(inputs, 'container-node') ? { evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' } } : {}),
  };
}

/**
 * kube-proxy in iptables mode: the default, needs no extra kernel modules or packages in the offline bundle
 * (ipvs needs ip_vs* modules plus ipset/ipvsadm and is being deprecated upstream; nftables mode needs a 5.13+
 * kernel, RHEL 8 has 4.18). A few nodes and services do not need ipvs' scaling.
 */
export function kubeProxyConfiguration(view: ClusterView, inputs: Pick<RenderInputs, 'overlay'> = {}) {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clusterCIDR: view.cluster.spec.network.podSubnet,
    // overlay container-node: nf_conntrack_max belongs to the shared kernel; 0 leaves it alone
    conntrack: hasOverlay(inputs, 'container-node') ? { maxPerCore: 0 } : undefined,
  };
}

export function joinConfiguration(view: ClusterView, inputs: RenderInputs, h: HostView) {
  return {
    apiVersion: KUBEADM_API,
    kind: 'JoinConfiguration',
    discovery: {
      bootstrapToken: {
        token: inputs.secrets.bootstrapToken,
        // The endpoint, never one control plane's own address: the runbook's worker join did that.
        apiServerEndpoint: endpointAddress(view),
        caCertHashes: [inputs.caCertHash],
      },
    },
    controlPlane: h.isControlPlane
      ? {
          localAPIEndpoint: { advertiseAddress: h.address, bindPort: apiServerBindPort(view) },
          // The runbook's control-plane join lacked --certificate-key; with --config it must be here.
          certificateKey: inputs.secrets.certificateKey,
        }
      : undefined,
    nodeRegistration: nodeRegistration(h, inputs),
    timeouts: h.isControlPlane ? { controlPlaneComponentHealthCheck: CONTROL_PLANE_HEALTH_TIMEOUT } : undefined,
  };
}

function kubeadmFile(view: ClusterView, command: string, docs: unknown[], inputs: Pick<RenderInputs, 'overlay'>): string {
  return `${hashMarker(view.name)}${inputs.overlay ? overlayComment(inputs.overlay) : ''}# Run: ${command}\n${docs.map(toYaml).join('---\n')}`;
}

/** The PEM with the marker as explanatory text before it (RFC 7468 allows it; Go's and OpenSSL's parsers skip it). */
function pemFile(view: ClusterView, pem: string): string {
  return `${hashMarker(view.name)}${pem.endsWith('\n') ? pem : `${pem}\n`}`;
}

/**
 * kubeadm's configuration: InitConfiguration and ClusterConfiguration for the first control plane, JoinConfiguration
 * (through the endpoint, with the CA pin and certificate key) for the others and the workers, kubelet and kube-proxy
 * settings.
 */
export const kubeadmGenerator: Generator = {
  name: 'kubeadm',
  units(view: ClusterView, inputs: RenderInputs): HostUnit[] {
    const files: HostFile[] = [];
    for (const h of view.hosts) {
      if (!h.isControlPlane && !h.isWorker) continue;
      if (hasOverlay(inputs, 'container-node')) {
        // the host's own address: nothing answers DNS there, so pods' upstream lookups fail fast instead of looping
        files.push(hostFile('kubeadm', h.name, OVERLAY_RESOLV_CONF, `${hashMarker(view.name)}${overlayComment('container-node')}nameserver ${h.address}\n`));
      }
      if (h.isFirstControlPlane) {
        const docs = [initConfiguration(view, inputs, h), clusterConfiguration(view, inputs), kubeletConfiguration(view, inputs), kubeProxyConfiguration(view, inputs)];
        files.push(hostFile('kubeadm', h.name, KUBEADM_INIT_CONFIG, kubeadmFile(view, KUBEADM_INIT_COMMAND, docs, inputs), { secret: true }));
        // Our CA, so that the join files can pin its hash before it exists in the cluster. kubeadm uses an existing
        // ca.crt + ca.key pair instead of generating one; the other control planes get it through --upload-certs.
        files.push(hostFile('kubeadm', h.name, CA_CERT_PATH, pemFile(view, inputs.secrets.ca.cert)));
        files.push(hostFile('kubeadm', h.name, CA_KEY_PATH, pemFile(view, inputs.secrets.ca.key), { secret: true }));
      } else {
        const doc = joinConfiguration(view, inputs, h);
        files.push(hostFile('kubeadm', h.name, KUBEADM_JOIN_CONFIG, kubeadmFile(view, KUBEADM_JOIN_COMMAND, [doc], inputs), { secret: true }));
      }
    }
    // before kubeadm runs on the host: init on the first control plane, joins after it
    const byName = new Map(view.hosts.map((h) => [h.name, h]));
    return hostUnits('kubeadm', files, (host) => kubeadmPhase(byName.get(host)!));
  },
};

/** The phase in which a host's kubeadm runs: init on the first control plane, then the control planes, then workers. */
export function kubeadmPhase(h: HostView): HostPhase {
  if (h.isFirstControlPlane) return 'first-control-plane';
  return h.isControlPlane ? 'control-planes' : 'workers';
}
