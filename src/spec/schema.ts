// The cluster spec (airgap-k8s/v1alpha1): one zod schema per concern, strict (unknown fields are errors), with
// defaults. Everything a user writes that later reaches a shell, a config file or a manifest is constrained here, so
// generators can interpolate validated values without quoting games. Cross-field rules live in validate.ts.
import { z } from 'zod';
import { HOST_OSES } from '../os/profiles.js';

/** The `apiVersion` of specs this version reads. */
export const API_VERSION = 'airgap-k8s/v1alpha1';

// ---- primitive formats (each with a message a user can act on) ----

/** RFC 1123 label: lowercase alphanumerics and '-', 1..63 chars, alphanumeric at both ends. */
export const DNS_LABEL = {
  regex: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  message: 'must be an RFC 1123 label: lowercase letters, digits and "-", 1-63 chars, starting and ending alphanumeric',
};
export const DnsLabel = z.string().regex(DNS_LABEL.regex, DNS_LABEL.message);

/** Linux accepts interface names up to 15 bytes without '/', whitespace or ':'; we also refuse shell metacharacters. */
export const InterfaceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'must be a Linux interface name: 1-15 chars of letters, digits, "_", "." or "-" (no spaces or shell metacharacters)');

export const IPv4 = z.ipv4({ message: 'must be an IPv4 address such as 55.192.0.125' });

/** Address ranges no host (and no VIP) can have: the name says why. Loopback is a warning (validate.ts). */
const IMPOSSIBLE_HOST_RANGES: readonly [first: number, bits: number, why: string][] = [
  [0x00000000, 8, 'is in 0.0.0.0/8 ("this network", the unspecified address): no host can be reached at it'],
  [0xa9fe0000, 16, 'is link-local (169.254.0.0/16): not routed beyond one link and reassigned at will; give the host its real address'],
  [0xe0000000, 4, 'is a multicast address (224.0.0.0/4), not a host address'],
  [0xf0000000, 4, 'is reserved (240.0.0.0/4, 255.255.255.255 is the broadcast address), not a host address'],
];

/** An IPv4 address a machine (or a VIP) can have: the schema refuses unspecified, link-local, multicast and reserved. */
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** 1-223 without 169 in the first octet; 169 only with a second octet other than 254 (no lookahead: JSON Schema tools differ) */
const HOST_IPV4_PATTERN = `^(?:(?:22[0-3]|2[01][0-9]|1[0-57-9][0-9]|16[0-8]|[1-9][0-9]?)\\.${OCTET}|169\\.(?:25[0-35]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))\\.${OCTET}\\.${OCTET}$`;
export const HostIPv4 = IPv4.superRefine((ip, ctx) => {
  const p = ip.split('.').map(Number);
  const n = ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
  for (const [first, bits, why] of IMPOSSIBLE_HOST_RANGES) {
    if ((n >>> (32 - bits)) === (first >>> (32 - bits))) {
      ctx.addIssue({ code: 'custom', message: `${ip} ${why}`, params: { code: 'impossible_address' } });
      return;
    }
  }
}).meta({
  // the same rule for editors and the OpenAPI document: first octet 1-223, never 169.254.x.x
  pattern: HOST_IPV4_PATTERN,
});
export const CIDRv4 = z.cidrv4({ message: 'must be an IPv4 CIDR such as 10.96.0.0/12' });

/** A Kubernetes-style semantic version with a leading v: v1.34.3 */
export const KubeVersion = z.string().regex(/^v\d+\.\d+\.\d+$/, 'must look like v1.34.3');
/** A plain dotted version: 1.6.32, 2.1.3 */
export const DottedVersion = z.string().regex(/^\d+\.\d+\.\d+$/, 'must look like 1.7.28');
/** A chart or image version, with or without v, optional pre-release suffix. */
export const LooseVersion = z
  .string()
  .regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]{1,40})?$/, 'must look like 1.2.3 or v1.2.3');

/** References name a secret held outside the spec (in the secrets file); they are names, never values. */
export const SecretRef = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9_]{0,61}[a-z0-9])?$/, 'must be a secret reference name: lowercase letters, digits, "-" or "_"');

/** host[:port][/path] of a registry that mirrors every image. Empty = pull from upstream names (images imported). */
export const RegistryRef = z
  .string()
  .max(255, 'must be at most 255 characters (an image reference is limited to 255)')
  .regex(
    /^$|^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    'must be host[:port][/path] such as registry.local:5000/k8s (lowercase, no scheme, no trailing slash), or empty',
  );

/** Absolute POSIX path without anything a shell or a config parser could misread. */
export const AbsPath = z
  .string()
  .max(255)
  .regex(/^\/[A-Za-z0-9._\/-]*$/, 'must be an absolute path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** Path relative to the offline bundle directory. */
export const BundlePath = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9._-][A-Za-z0-9._\/-]*$/, 'must be a relative path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

export const NodePort = z.number().int().min(1).max(65535);
export const Port = z.number().int().min(1, 'must be a TCP port 1-65535').max(65535, 'must be a TCP port 1-65535');

/** Kubernetes resource quantities as users write them: "16", "500m", "64Gi". */
export const Quantity = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?$/, 'must be a Kubernetes quantity such as 16, 500m or 64Gi'));

/** Prometheus-style duration: 15d, 12h. */
export const Duration = z.string().regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, 'must be a duration such as 15d or 12h');

// ---- hosts ----

export const Role = z.enum(['control-plane', 'worker', 'load-balancer']);
/** The host OSes of src/os/profiles.ts, in its order: a new OS is a new entry there. */
export const HostOS = z.enum(HOST_OSES);

const SshUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a POSIX user name: lowercase letters, digits, "_" or "-"');
/** Pinned host key fingerprint (SHA256:base64 as ssh-keygen -l prints). Without it, known_hosts decides. */
const HostKeyFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be SHA256:<43 base64 chars> as `ssh-keygen -lf` prints');

export const SshSettings = z.strictObject({
  user: SshUser.default('root'),
  port: Port.default(22),
  privateKeyRef: SecretRef.default('default'),
  hostKeyFingerprint: HostKeyFingerprint.optional(),
});
/**
 * Per host: only the fields written override spec.ssh. No defaults here: `SshSettings.partial()` kept them, so a
 * host naming only its hostKeyFingerprint silently got user root, port 22 and key "default" over spec.ssh.
 */
export const SshOverride = z.strictObject({
  user: SshUser.optional(),
  port: Port.optional(),
  privateKeyRef: SecretRef.optional(),
  hostKeyFingerprint: HostKeyFingerprint.optional(),
});

export const GpuSpec = z.strictObject({
  vendor: z.literal('nvidia'),
  count: z.number().int().min(1, 'must be at least 1').max(16, 'must be at most 16'),
  /** Free-text product name for labels and docs, e.g. A100-80GB. */
  product: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be letters, digits, ".", "_" or "-"')
    .optional(),
});

export const Host = z.strictObject({
  name: DnsLabel,
  address: HostIPv4,
  roles: z.array(Role).min(1, 'needs at least one role').refine((r) => new Set(r).size === r.length, 'roles must not repeat'),
  /** The NIC carrying `address`; used by keepalived and Calico autodetection. */
  interface: InterfaceName.optional(),
  os: HostOS.default('rhel8'),
  gpu: GpuSpec.optional(),
  ssh: SshOverride.optional(),
  /** Extra node labels (applied after join). */
  labels: z
    .record(
      z.string().regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label key'),
      z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value'),
    )
    .optional(),
});

// ---- control plane ----

export const Endpoint = z.strictObject({
  host: HostIPv4,
  port: Port.default(6443),
});

export const LoadBalancer = z.strictObject({
  mode: z.enum(['keepalived-haproxy', 'external']).default('keepalived-haproxy'),
  virtualRouterId: z
    .number()
    .int()
    .min(1, 'must be 1-255 (VRRP virtual_router_id)')
    .max(255, 'must be 1-255 (VRRP virtual_router_id)')
    .default(51),
  authPassRef: SecretRef.default('vrrp'),
  /** Unicast VRRP (unicast_src_ip/unicast_peer) for networks that drop multicast. */
  unicast: z.boolean().default(false),
  /** Send gratuitous ARP with arping on state changes, as the runbook does. */
  notifyArping: z.boolean().default(false),
  /** Port of the apiserver on each control plane that haproxy balances to. */
  backendPort: Port.default(6443),
});

/** kubeadm v1beta4 ClusterConfiguration.encryptionAlgorithm: the values kubeadm v1.34 accepts. */
export const ENCRYPTION_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const;
export const EncryptionAlgorithm = z.enum(ENCRYPTION_ALGORITHMS);
/** A key algorithm kubeadm makes keys with. */
export type EncryptionAlgorithm = z.output<typeof EncryptionAlgorithm>;
/**
 * The algorithm of a new cluster's CA and keys when the spec does not name one: an ECDSA P-256 key takes well under a
 * millisecond to make, an RSA-2048 key 0.1-1 s (kubeadm's own default is RSA-2048).
 */
export const DEFAULT_ENCRYPTION_ALGORITHM: EncryptionAlgorithm = 'ECDSA-P256';

/** The cluster's certificates: what kubeadm makes under /etc/kubernetes/pki on the control planes, and our CA. */
export const Pki = z.strictObject({
  /**
   * The key type of the cluster CA (made before kubeadm runs) and of every key kubeadm makes: certificates, the
   * front-proxy and etcd CAs, the service-account key. Unset: the CA's own algorithm when the secrets file holds one
   * (an existing cluster keeps its keys), ECDSA-P256 for a CA made new.
   */
  encryptionAlgorithm: EncryptionAlgorithm.optional(),
});

export const ControlPlane = z.strictObject({
  /** VIP:port with a load balancer; the single control plane's address:6443 without one (defaulted). */
  endpoint: Endpoint.optional(),
  loadBalancer: LoadBalancer.optional(),
  pki: Pki.prefault({}),
});

// ---- network, runtime, offline ----

export const Network = z.strictObject({
  podSubnet: CIDRv4.default('192.168.0.0/16'),
  serviceSubnet: CIDRv4.default('10.96.0.0/12'),
  dnsDomain: z
    .string()
    .max(253, 'must be a DNS domain such as cluster.local (at most 253 characters)')
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/, 'must be a DNS domain such as cluster.local')
    .default('cluster.local'),
  /** The subnet the hosts' addresses (and the VIP) live in, when known. Enables the VIP-in-subnet and overlap checks. */
  hostSubnet: CIDRv4.optional(),
  nodePortRange: z
    .strictObject({ from: NodePort.default(30000), to: NodePort.default(32767) })
    .prefault({}),
});

export const ContainerRuntime = z.strictObject({
  containerd: z
    .strictObject({
      version: DottedVersion.default('1.7.28'),
    })
    .prefault({}),
});

export const Offline = z.strictObject({
  /** Where the offline bundle is unpacked on every host. */
  bundleDir: AbsPath.default('/data/k8s'),
  /** host[:port][/path] mirroring every image; empty means images are imported into containerd from the bundle. */
  registry: RegistryRef.default(''),
  /** CA file on the hosts for the private registry's TLS; without it the registry must be trusted by the system. */
  registryCAFile: AbsPath.optional(),
  /** Plain HTTP or a self-signed registry without CA: skip TLS verification (say so knowingly). */
  registryInsecure: z.boolean().default(false),
});

// ---- addons ----

// Versions whose images and values the addon generators know (their tables live in src/generators/manifests/<addon>/;
// a test there keeps these lists equal to the tables). Anything else would render images nobody listed.
export const CALICO_VERSIONS: readonly string[] = ['v3.27.0'];
export const DASHBOARD_CHART_VERSIONS: Readonly<Record<'kubernetes-dashboard' | 'headlamp', readonly string[]>> = {
  'kubernetes-dashboard': ['7.14.0'],
  headlamp: ['0.45.0'],
};
export const GPU_OPERATOR_VERSIONS: readonly string[] = ['v25.10.1'];
export const MONITORING_CHART_VERSIONS: readonly string[] = ['88.5.3'];

export const Calico = z.strictObject({
  version: KubeVersion.default('v3.27.0').refine((v) => CALICO_VERSIONS.includes(v), {
    message: `must be a Calico version whose images this release pins: ${CALICO_VERSIONS.join(', ')}`,
  }),
  mode: z.enum(['manifest', 'operator']).default('manifest'),
  /** IP_AUTODETECTION_METHOD: first-found | can-reach=X | interface=REGEX | skip-interface=REGEX | cidr=CIDR | kubernetes-internal-ip */
  ipAutodetection: z
    .string()
    .regex(
      /^(first-found|kubernetes-internal-ip|(can-reach|interface|skip-interface|cidr)=[A-Za-z0-9.,:/|*+_-]{1,128})$/,
      'must be first-found, kubernetes-internal-ip, can-reach=..., interface=..., skip-interface=... or cidr=...',
    )
    .optional(),
  encapsulation: z.enum(['IPIP', 'VXLAN', 'None']).default('IPIP'),
});

export const Dashboard = z.strictObject({
  enabled: z.boolean().default(true),
  kind: z.enum(['kubernetes-dashboard', 'headlamp']).default('kubernetes-dashboard'),
  chartVersion: LooseVersion.optional(),
  nodePort: NodePort.default(30443),
}).superRefine((d, ctx) => {
  if (d.chartVersion === undefined) return;
  const known = DASHBOARD_CHART_VERSIONS[d.kind];
  if (!known.includes(d.chartVersion.replace(/^v/, ''))) {
    ctx.addIssue({ code: 'custom', path: ['chartVersion'], message: `must be a ${d.kind} chart version whose images this release pins: ${known.join(', ')}` });
  }
});

export const GpuOperator = z.strictObject({
  enabled: z.boolean().default(true),
  version: KubeVersion.default('v25.10.1').refine((v) => GPU_OPERATOR_VERSIONS.includes(v), {
    message: `must be a GPU Operator version whose images this release pins: ${GPU_OPERATOR_VERSIONS.join(', ')}`,
  }),
  /** preinstalled: driver/toolkit already on the host (bundle rpms); operator: the operator installs them. */
  driver: z.enum(['preinstalled', 'operator']).default('preinstalled'),
  toolkit: z.enum(['preinstalled', 'operator']).default('preinstalled'),
});

export const Monitoring = z.strictObject({
  enabled: z.boolean().default(true),
  namespace: DnsLabel.default('monitoring'),
  chartVersion: LooseVersion.default('88.5.3').refine((v) => MONITORING_CHART_VERSIONS.includes(v.replace(/^v/, '')), {
    message: `must be a kube-prometheus-stack chart version whose images this release pins: ${MONITORING_CHART_VERSIONS.join(', ')}`,
  }),
  grafana: z
    .strictObject({
      nodePort: NodePort.default(30724),
      adminPasswordRef: SecretRef.default('grafana'),
    })
    .prefault({}),
  retention: Duration.default('15d'),
  storage: z
    .strictObject({
      size: Quantity.default('50Gi'),
      storageClassName: DnsLabel.optional(),
    })
    .optional(),
});

/** A default StorageClass: kubeadm clusters have none, so every PVC (Ollama models, Prometheus, Dify) would stay
 * Pending. local-path-provisioner creates hostPath volumes under `path` on the node that runs the pod. */
export const Storage = z.strictObject({
  localPath: z
    .strictObject({
      enabled: z.boolean().default(true),
      path: AbsPath.default('/opt/local-path-provisioner'),
      defaultClass: z.boolean().default(true),
    })
    .prefault({}),
});

export const Addons = z.strictObject({
  cni: z.strictObject({ calico: Calico.prefault({}) }).prefault({}),
  storage: Storage.prefault({}),
  dashboard: Dashboard.prefault({}),
  gpuOperator: GpuOperator.prefault({}),
  monitoring: Monitoring.prefault({}),
});

// ---- environments, models, apps ----

export const Environment = z.strictObject({
  name: DnsLabel,
  quota: z
    .strictObject({
      cpu: Quantity.default('16'),
      memory: Quantity.default('64Gi'),
      gpus: z.number().int().min(0).default(0),
    })
    .prefault({}),
  labels: z
    .record(
      z.string().regex(/^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/, 'must be a label key: lowercase letters, digits, "-", "_" or ".", 1-63 chars'),
      z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value'),
    )
    .optional(),
});

const ModelService = z.strictObject({
  /** Expose on this NodePort; without it the model is reachable only inside the cluster. */
  nodePort: NodePort.optional(),
});

const ModelStorage = z.strictObject({
  size: Quantity.default('100Gi'),
  storageClassName: DnsLabel.optional(),
});

/** Image tag or digest-free reference supplied by the user; validated so it cannot smuggle YAML or shell. */
export const ImageRef = z
  .string()
  .max(255)
  .regex(/^[a-z0-9]+([._:\/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, 'must be an image reference such as ollama/ollama:0.12.6');

const ModelBase = {
  name: DnsLabel,
  environment: DnsLabel,
  gpus: z.number().int().min(0).default(1),
  service: ModelService.prefault({}),
  storage: ModelStorage.optional(),
  image: ImageRef.optional(),
};

export const OllamaModel = z.strictObject({
  ...ModelBase,
  engine: z.literal('ollama'),
  /** The model name clients ask for, e.g. qwen2.5:7b. */
  model: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}(:[a-z0-9][a-z0-9._-]{0,63})?$/, 'must be an Ollama model name such as qwen2.5:7b'),
  /** GGUF file inside the offline bundle to `ollama create` the model from. */
  modelFile: BundlePath.optional(),
  keepAlive: z.string().regex(/^-?[0-9]+(s|m|h)?$/, 'must be a duration such as 5m, 24h or -1').default('-1'),
});

export const VllmModel = z.strictObject({
  ...ModelBase,
  engine: z.literal('vllm'),
  /** Model directory on the GPU hosts (from the bundle), served offline. */
  modelPath: AbsPath,
  servedModelName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be letters, digits, ".", "_" or "-"'),
  maxModelLen: z.number().int().min(256).max(1048576).optional(),
  gpuMemoryUtilization: z.number().min(0.1).max(0.99).default(0.9),
  apiKeyRef: SecretRef.optional(),
});

export const Model = z.discriminatedUnion('engine', [OllamaModel, VllmModel]);

/** dify-helm chart versions whose values and images the Dify generator knows. */
export const DIFY_CHART_VERSIONS: readonly string[] = ['0.37.0'];

export const Dify = z.strictObject({
  enabled: z.boolean().default(false),
  environment: DnsLabel.default('prod'),
  models: z.array(DnsLabel).default([]),
  service: z.strictObject({ nodePort: NodePort.default(30080) }).prefault({}),
  /** BorisPolonsky/dify-helm chart version; the generator pins every image per version it knows (0.37.0 = Dify 1.14.2). */
  chartVersion: LooseVersion.default('0.37.0').refine((v) => DIFY_CHART_VERSIONS.includes(v.replace(/^v/, '')), {
    message: `must be a dify chart version whose images this release pins: ${DIFY_CHART_VERSIONS.join(', ')}`,
  }),
  secretKeyRef: SecretRef.default('dify'),
});

export const Apps = z.strictObject({
  dify: Dify.prefault({}),
});

// ---- etcd ----

/**
 * A systemd OnCalendar expression (systemd.time(7)): "daily", "Mon..Fri 02:00", "*-*-* 03:15:00", "*:0/30",
 * "Sat,Sun 04:00 UTC". It lands verbatim in a unit file, so only what calendar expressions are made of is allowed:
 * letters, digits, "*", ":", "-", ",", ".", "/", "~", "_" and single spaces between words. No newline (another
 * directive), no "%" (a systemd specifier), no quote, "$", ";", "|", "&", "`", backslash, "#", "<", ">", "(" or ")".
 * Whether systemd reads it as a calendar is for systemd to judge (`systemd-analyze calendar`, tools tier).
 */
export const OnCalendar = z
  .string()
  .max(100, 'must be at most 100 characters')
  .regex(
    /^[A-Za-z0-9*:,.\/~_-]+( [A-Za-z0-9*:,.\/~_-]+)*$/,
    'must be a systemd calendar expression such as daily, "*-*-* 02:00:00" or "Mon..Fri 02:00": letters, digits, "*", ":", "-", ",", ".", "/", "~", "_" and single spaces (no quotes, "%", "$", ";", newlines or other shell or unit-file metacharacters)',
  );

/** An absolute path's names, without empty and "." parts (AbsPath refuses ".."): /var//lib/./etcd/ -> var, lib, etcd. */
export const pathParts = (p: string): string[] => p.split('/').filter((x) => x !== '' && x !== '.');
/** Whether absolute path `p` is `dir` or inside it, however either is spelled. */
export function isAtOrBelow(p: string, dir: string): boolean {
  const a = pathParts(p);
  const d = pathParts(dir);
  return a.length >= d.length && d.every((x, i) => a[i] === x);
}

/** Where kubeadm keeps etcd's data: wiped by kubeadm reset and moved aside by an etcd restore. */
const ETCD_DATA_DIR = '/var/lib/etcd';

/**
 * Scheduled snapshots of every control plane's own etcd member (src/generators/etcd-backup): a systemd timer runs a
 * script that saves, checks and keeps the newest `keep` snapshots under `dir`, mode 0600 (they hold every Secret).
 */
export const EtcdSnapshots = z.strictObject({
  enabled: z.boolean().default(false),
  /** systemd OnCalendar expression; each host waits a random 0-5 minutes more (RandomizedDelaySec) */
  schedule: OnCalendar.default('daily'),
  /** how many snapshots each control plane keeps; older ones are removed after a good new one */
  keep: z.number().int('must be a whole number').min(1, 'must be 1-365').max(365, 'must be 1-365').default(7),
  /** directory on every control plane (created 0700); not under /var/lib/etcd, which a reset or restore removes */
  dir: AbsPath.refine((p) => pathParts(p).length > 0, 'must not be / (give the snapshots a directory of their own)').refine(
    (p) => !isAtOrBelow(p, ETCD_DATA_DIR),
    `must not be ${ETCD_DATA_DIR} or below it: kubeadm reset removes it and an etcd restore moves it aside, snapshots included`,
  )
    .default('/var/backups/etcd'),
});

export const Etcd = z.strictObject({
  snapshots: EtcdSnapshots.prefault({}),
});

// ---- the document ----

export const ClusterSpecBody = z.strictObject({
  kubernetesVersion: KubeVersion.default('v1.34.3'),
  hosts: z.array(Host).min(1, 'needs at least one host'),
  ssh: SshSettings.prefault({}),
  controlPlane: ControlPlane.prefault({}),
  network: Network.prefault({}),
  containerRuntime: ContainerRuntime.prefault({}),
  offline: Offline.prefault({}),
  addons: Addons.prefault({}),
  etcd: Etcd.prefault({}),
  environments: z.array(Environment).default([]),
  models: z.array(Model).default([]),
  apps: Apps.prefault({}),
});

/** The zod schema of a cluster spec (without the cross-field rules: {@link parseSpec} checks those too). */
export const Cluster = z.strictObject({
  apiVersion: z.literal(API_VERSION, { message: `must be ${API_VERSION}` }),
  kind: z.literal('Cluster', { message: 'must be Cluster' }),
  metadata: z.strictObject({ name: DnsLabel }),
  spec: ClusterSpecBody,
});

/** What a user writes (defaults optional). */
export type ClusterInput = z.input<typeof Cluster>;
/** A validated, defaulted spec. */
export type ClusterSpec = z.output<typeof Cluster>;
/**
 * One host of the spec, validated and defaulted.
 *
 * @interface
 */
export type HostSpec = z.output<typeof Host>;
/** One model of the spec, Ollama or vLLM (told apart by `engine`). */
export type ModelSpec = OllamaModelSpec | VllmModelSpec;
/**
 * A model served by Ollama.
 *
 * @interface
 */
export type OllamaModelSpec = z.output<typeof OllamaModel>;
/**
 * A model served by vLLM.
 *
 * @interface
 */
export type VllmModelSpec = z.output<typeof VllmModel>;
/**
 * An environment (namespace) with its quota.
 *
 * @interface
 */
export type EnvironmentSpec = z.output<typeof Environment>;
export type EtcdSnapshotsSpec = z.output<typeof EtcdSnapshots>;
