// Calico, the CNI (spec.addons.cni.calico). Two ways to install it:
//
// manifest (the runbook's `kubectl apply -f calico.yaml`):
//   cluster/10-calico.yaml  = transformCalicoManifest(<bundle>/manifests/calico-<version>.yaml). The upstream text is a
//   render INPUT (inputs.upstream.calicoManifest), read from the offline bundle by the install pipeline (src/install),
//   like the CA or the bootstrap token: the transform itself stays pure and is tested on fixtures/upstream/
//   calico-excerpt.yaml. It sets CALICO_IPV4POOL_CIDR to the pod subnet (upstream ships it commented out, so Calico
//   would create 192.168.0.0/16 whatever kubeadm's podSubnet says), IP_AUTODETECTION_METHOD, the IPIP/VXLAN modes of
//   the default pool (VXLAN also switches calico_backend to vxlan and drops the BIRD probes, as Calico's docs say), and
//   sends every image to the private registry. An image the spec's Calico version does not list is an error, so
//   images.txt cannot silently miss one.
//   Without the upstream text (rendering with no bundle) nothing can be transformed: we render
//   cluster/10-calico.needs-upstream.txt instead, which names the bundle file and the settings the transform would
//   apply. It is not a manifest (the planner applies cluster/NN-*.yaml only), so nothing half-made reaches a cluster.
//
// operator (tigera-operator):
//   cluster/helm/tigera-operator.values.yaml  the operator chart from the bundle (order 10), its own image pinned;
//                                             installation/apiServer off in the chart: we render them ourselves
//   cluster/11-calico.yaml                    operator.tigera.io/v1 Installation + APIServer (need the chart's CRDs).
//   Installation.spec.registry = "<registry>/" makes the operator pull <registry>/calico/<name>:<version>, the same
//   mapping as resolveImage. flexVolumePath/kubeletVolumePluginPath None: no flexvol driver and no Calico CSI driver
//   (both only serve Calico's application-layer policy), so the operator pulls node, cni, typha, kube-controllers and
//   apiserver only.
import yaml from 'js-yaml';
import type { ClusterView } from '../../../spec/derive.js';
import { formatImage, parseImage, resolveImage } from '../../../images.js';
import { hashMarker } from '../../render/marker.js';
import { toYaml, yamlFile } from '../../render/yaml.js';
import { deepFreeze, memoByText } from '../../memo.js';
import { clusterFile, type ClusterUnit, type RenderInputs } from '../../types.js';
import { applyUnit, helmUnit, type AddonModule } from '../addon.js';
import { valuesPath, type HelmRelease } from '../helm.js';

const GENERATOR = 'calico';
export const CALICO_MANIFEST_PATH = 'cluster/10-calico.yaml';
export const CALICO_NEEDS_UPSTREAM_PATH = 'cluster/10-calico.needs-upstream.txt';
export const CALICO_OPERATOR_CRS_PATH = 'cluster/11-calico.yaml';
export const TIGERA_RELEASE = 'tigera-operator';
export const TIGERA_NAMESPACE = 'tigera-operator';
/** The unit that makes the pod network, in both modes: what needs pods running comes after it. */
export const CALICO_UNIT = 'calico';

/** Per Calico version: the tigera operator release that installs it (Calico's docs for that version). */
export const CALICO_RELEASES: Record<string, { operator: string }> = {
  'v3.27.0': { operator: 'v1.32.3' },
};

type CalicoComponent = 'cni' | 'node' | 'kube-controllers' | 'typha' | 'apiserver';
const MANIFEST_COMPONENTS: CalicoComponent[] = ['cni', 'node', 'kube-controllers'];
const OPERATOR_COMPONENTS: CalicoComponent[] = ['apiserver', 'cni', 'kube-controllers', 'node', 'typha'];

function calicoSpec(view: ClusterView) {
  return view.cluster.spec.addons.cni.calico;
}

function release(view: ClusterView): { operator: string } {
  const v = calicoSpec(view).version;
  const r = CALICO_RELEASES[v];
  if (!r) throw new Error(`calico: no image table for Calico ${v} (validate the spec first)`);
  return r;
}

/** Upstream reference of a Calico component image (Calico publishes them on Docker Hub under calico/). */
export function calicoUpstreamImage(component: CalicoComponent, version: string): string {
  return `docker.io/calico/${component}:${version}`;
}

export function tigeraOperatorUpstreamImage(operatorVersion: string): string {
  return `quay.io/tigera/operator:${operatorVersion}`;
}

/** The upstream images a mode pulls, fully qualified. */
export function calicoUpstreamImages(view: ClusterView): string[] {
  const c = calicoSpec(view);
  if (c.mode === 'manifest') return MANIFEST_COMPONENTS.map((n) => calicoUpstreamImage(n, c.version));
  return [tigeraOperatorUpstreamImage(release(view).operator), ...OPERATOR_COMPONENTS.map((n) => calicoUpstreamImage(n, c.version))];
}

/** Where the upstream manifest sits inside the offline bundle (relative to spec.offline.bundleDir). */
export function calicoUpstreamManifestPath(view: ClusterView): string {
  return `manifests/calico-${calicoSpec(view).version}.yaml`;
}

export interface CalicoSettings {
  cidr: string;
  /** IP_AUTODETECTION_METHOD syntax */
  autodetection: string;
  /** where the autodetection method came from */
  autodetectionFrom: 'spec' | 'hosts' | 'default';
  encapsulation: 'IPIP' | 'VXLAN' | 'None';
  ipipMode: 'Always' | 'Never';
  vxlanMode: 'Always' | 'Never';
  /** calico_backend: BIRD (BGP) unless the pool is VXLAN-only */
  backend: 'bird' | 'vxlan';
}

/**
 * The node address autodetection: the spec's method; else `interface=<nic>` when every host declares the same
 * interface (the runbook's hosts all use ens0); else Calico's default first-found.
 */
export function calicoAutodetection(view: ClusterView): { method: string; from: CalicoSettings['autodetectionFrom'] } {
  const declared = calicoSpec(view).ipAutodetection;
  if (declared) return { method: declared, from: 'spec' };
  const nics = view.hosts.map((h) => h.spec.interface);
  const first = nics[0];
  if (first !== undefined && nics.every((n) => n === first)) return { method: `interface=${first}`, from: 'hosts' };
  return { method: 'first-found', from: 'default' };
}

export function calicoSettings(view: ClusterView): CalicoSettings {
  const c = calicoSpec(view);
  const auto = calicoAutodetection(view);
  return {
    cidr: view.cluster.spec.network.podSubnet,
    autodetection: auto.method,
    autodetectionFrom: auto.from,
    encapsulation: c.encapsulation,
    ipipMode: c.encapsulation === 'IPIP' ? 'Always' : 'Never',
    vxlanMode: c.encapsulation === 'VXLAN' ? 'Always' : 'Never',
    backend: c.encapsulation === 'VXLAN' ? 'vxlan' : 'bird',
  };
}

// ---- manifest mode: the pure transform ----

type Obj = Record<string, unknown>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Set NAME=value: replace the first entry of that name in place (dropping any valueFrom and duplicates), else insert
 * after `after` when present, else append. */
function setEnv(env: EnvVar[], name: string, value: string, after?: string): void {
  const first = env.findIndex((e) => e.name === name);
  if (first >= 0) {
    env[first] = { name, value };
    for (let i = env.length - 1; i > first; i--) if (env[i]!.name === name) env.splice(i, 1);
    return;
  }
  const anchor = after === undefined ? -1 : env.findIndex((e) => e.name === after);
  env.splice(anchor >= 0 ? anchor + 1 : env.length, 0, { name, value });
}

/** Every container and init container of every pod template in an object, wherever it sits. */
function forEachContainer(node: unknown, fn: (c: Obj) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) forEachContainer(x, fn);
    return;
  }
  if (!isObj(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) {
      for (const c of v) if (isObj(c)) fn(c);
    }
    forEachContainer(v, fn);
  }
}

function dropBirdChecks(probe: unknown): void {
  if (!isObj(probe) || !isObj(probe.exec) || !Array.isArray(probe.exec.command)) return;
  probe.exec.command = probe.exec.command.filter((a) => a !== '-bird-live' && a !== '-bird-ready');
}

/**
 * Leading-zero integers are octal to Kubernetes (YAML 1.1) but decimal to js-yaml (YAML 1.2): re-serialising such a
 * value would silently change it (a `defaultMode: 0644` would become 644). Calico's manifest has none; refuse any.
 */
function assertNoOctalLiterals(text: string): void {
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (/^\s*(-\s+|[A-Za-z0-9_.-]+:\s+)0[0-7]+\s*(#.*)?$/.test(l)) {
      throw new Error(`calico: upstream manifest line ${i + 1} has a leading-zero (octal) integer, which YAML 1.1 and 1.2 read differently: ${l.trim()}`);
    }
  });
}

/**
 * Turn Calico's upstream calico.yaml into ours (pure): the pod CIDR, node address autodetection, IPIP/VXLAN modes and
 * every image moved to the registry. Returns the whole file, marker first. Throws when the text is not the calico.yaml
 * we expect (no calico-node DaemonSet, an image the spec's Calico version does not list, ...).
 */
export function transformCalicoManifest(upstreamYaml: string, view: ClusterView): string {
  const upstream = parsedUpstream(upstreamYaml);
  const objs = upstream.docs;
  // Copy on write: the documents changed below (calico-node, calico-config, those with containers) are copied and
  // written anew; every other one (the CRDs: most of the text) keeps the YAML made once for this upstream text.
  const copies = new Map<number, Obj>();
  const writable = (i: number): Obj => {
    let c = copies.get(i);
    if (!c) copies.set(i, (c = structuredClone(objs[i]!)));
    return c;
  };
  const named = (kind: string, name: string): Obj | undefined => {
    const i = objs.findIndex((o) => o.kind === kind && isObj(o.metadata) && o.metadata.name === name);
    return i < 0 ? undefined : writable(i);
  };

  const s = calicoSettings(view);
  const ds = named('DaemonSet', 'calico-node');
  const podSpec = isObj(ds) && isObj(ds.spec) && isObj(ds.spec.template) && isObj(ds.spec.template.spec) ? ds.spec.template.spec : undefined;
  const node = Array.isArray(podSpec?.containers)
    ? (podSpec.containers as unknown[]).find((c): c is Obj => isObj(c) && c.name === 'calico-node')
    : undefined;
  if (!node) throw new Error('calico: upstream manifest has no calico-node DaemonSet with a calico-node container');
  if (node.env !== undefined && !Array.isArray(node.env)) throw new Error('calico: calico-node env is not a list');
  const env = (node.env ?? []) as EnvVar[];
  node.env = env;
  setEnv(env, 'CALICO_IPV4POOL_IPIP', s.ipipMode, 'IP');
  setEnv(env, 'CALICO_IPV4POOL_VXLAN', s.vxlanMode, 'CALICO_IPV4POOL_IPIP');
  setEnv(env, 'CALICO_IPV4POOL_CIDR', s.cidr, 'CALICO_IPV4POOL_VXLAN');
  setEnv(env, 'IP_AUTODETECTION_METHOD', s.autodetection, 'IP');

  if (s.backend === 'vxlan') {
    const cm = named('ConfigMap', 'calico-config');
    if (!isObj(cm) || !isObj(cm.data)) throw new Error('calico: upstream manifest has no calico-config ConfigMap to switch calico_backend to vxlan');
    cm.data.calico_backend = 'vxlan';
    dropBirdChecks(node.livenessProbe);
    dropBirdChecks(node.readinessProbe);
  }

  const known = new Set(MANIFEST_COMPONENTS.map((n) => calicoUpstreamImage(n, calicoSpec(view).version)));
  const unknown = new Set<string>();
  objs.forEach((o, i) => {
    if (!hasImages(o)) return;
    forEachContainer(writable(i).spec, (c) => {
      if (typeof c.image !== 'string') return;
      const upstream = formatImage(parseImage(c.image));
      if (!known.has(upstream)) unknown.add(c.image);
      c.image = resolveImage(upstream, view.registry);
    });
  });
  if (unknown.size > 0) {
    throw new Error(
      `calico: upstream manifest uses images that Calico ${calicoSpec(view).version} in manifest mode does not list (${[...unknown].sort().join(', ')}); ` +
        `is ${calicoUpstreamManifestPath(view)} the manifest of that version?`,
    );
  }

  const header =
    `# Calico ${calicoSpec(view).version} from the offline bundle's ${calicoUpstreamManifestPath(view)}, transformed: ` +
    `CALICO_IPV4POOL_CIDR=${s.cidr}, IP_AUTODETECTION_METHOD=${s.autodetection}, ` +
    `CALICO_IPV4POOL_IPIP=${s.ipipMode}, CALICO_IPV4POOL_VXLAN=${s.vxlanMode}, images from ${view.registry || 'their upstream registries'}.\n`;
  return hashMarker(view.name) + header + objs.map((_, i) => (copies.has(i) ? toYaml(copies.get(i)) : upstream.yaml(i))).join('---\n');
}

/** Whether any container of the object names an image (read only: the upstream documents are frozen). */
function hasImages(o: Obj): boolean {
  let found = false;
  forEachContainer(o.spec, (c) => (found ||= typeof c.image === 'string'));
  return found;
}

/**
 * An upstream calico.yaml, checked and parsed once per distinct text (memoByText): its documents, deeply frozen
 * (the transform copies what it changes), and each one's YAML, made on first use.
 */
const parsedUpstream = memoByText((text: string): { docs: readonly Obj[]; yaml: (i: number) => string } => {
  assertNoOctalLiterals(text);
  let loaded: unknown[];
  try {
    loaded = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new Error(`calico: upstream manifest is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const docs = loaded.filter((d) => d !== null && d !== undefined);
  docs.forEach((d, i) => {
    if (!isObj(d) || typeof d.apiVersion !== 'string' || typeof d.kind !== 'string') {
      throw new Error(`calico: upstream document ${i + 1} is not a Kubernetes object (no apiVersion/kind)`);
    }
  });
  const objs = deepFreeze(docs as Obj[]);
  const texts: (string | undefined)[] = [];
  return { docs: objs, yaml: (i) => (texts[i] ??= toYaml(objs[i])) };
});

function needsUpstreamNote(view: ClusterView): string {
  const c = calicoSpec(view);
  const s = calicoSettings(view);
  const width = 26;
  const row = (k: string, v: string) => `#   ${k.padEnd(width)} ${v}`;
  return [
    hashMarker(view.name).trimEnd(),
    `# Calico ${c.version}, manifest mode: cluster/10-calico.yaml is made from the upstream manifest in the offline`,
    `# bundle, ${view.cluster.spec.offline.bundleDir}/${calicoUpstreamManifestPath(view)}, which this render was not given`,
    '# (inputs.upstream.calicoManifest; the planner reads it from the bundle). Nothing here is applied to the cluster.',
    '# The transform (src/generators/manifests/calico) will set on the calico-node container:',
    row('CALICO_IPV4POOL_CIDR', s.cidr),
    row('IP_AUTODETECTION_METHOD', `${s.autodetection} (${s.autodetectionFrom === 'spec' ? 'from the spec' : s.autodetectionFrom === 'hosts' ? 'every host declares this interface' : "Calico's default"})`),
    row('CALICO_IPV4POOL_IPIP', s.ipipMode),
    row('CALICO_IPV4POOL_VXLAN', s.vxlanMode),
    row('calico_backend', s.backend),
    '# and these images:',
    ...calicoUpstreamImages(view).map((u) => row(u, `-> ${resolveImage(u, view.registry)}`)),
    '',
  ].join('\n');
}

// ---- operator mode ----

/** operator.tigera.io/v1 nodeAddressAutodetectionV4 from an IP_AUTODETECTION_METHOD string. */
export function nodeAddressAutodetection(method: string): Record<string, unknown> {
  if (method === 'first-found') return { firstFound: true };
  if (method === 'kubernetes-internal-ip') return { kubernetes: 'NodeInternalIP' };
  const eq = method.indexOf('=');
  const kind = method.slice(0, eq);
  const arg = method.slice(eq + 1);
  switch (kind) {
    case 'interface':
      return { interface: arg };
    case 'skip-interface':
      return { skipInterface: arg };
    case 'can-reach':
      return { canReach: arg };
    case 'cidr':
      return { cidrs: arg.split(',') };
    default:
      throw new Error(`calico: unknown IP autodetection method ${method}`);
  }
}

function operatorResources(view: ClusterView): unknown[] {
  const s = calicoSettings(view);
  const installation = {
    apiVersion: 'operator.tigera.io/v1',
    kind: 'Installation',
    metadata: { name: 'default' },
    spec: {
      variant: 'Calico',
      // The operator joins registry + "calico/<name>:<version>"; the trailing slash is required.
      registry: view.registry ? `${view.registry}/` : undefined,
      calicoNetwork: {
        bgp: s.backend === 'bird' ? 'Enabled' : 'Disabled',
        ipPools: [
          {
            // no `name`: the operator of Calico v3.27 names the pool itself (its Installation CRD has no such field;
            // the real CRD's strict validation in the k8s tier refused it)
            cidr: s.cidr,
            encapsulation: s.encapsulation,
            natOutgoing: 'Enabled',
            nodeSelector: 'all()',
            blockSize: 26,
          },
        ],
        nodeAddressAutodetectionV4: nodeAddressAutodetection(s.autodetection),
      },
      flexVolumePath: 'None',
      kubeletVolumePluginPath: 'None',
    },
  };
  const apiServer = { apiVersion: 'operator.tigera.io/v1', kind: 'APIServer', metadata: { name: 'default' }, spec: {} };
  return [installation, apiServer];
}

function operatorValues(view: ClusterView): object {
  const op = parseImage(tigeraOperatorUpstreamImage(release(view).operator));
  return {
    // We render Installation and APIServer ourselves (cluster/11-calico.yaml).
    installation: { enabled: false },
    apiServer: { enabled: false },
    // The chart joins "<registry>/<image>:<version>".
    tigeraOperator: { registry: view.registry || op.host, image: op.path, version: op.tag },
  };
}

export const calicoAddon: AddonModule = {
  name: GENERATOR,
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[] {
    if (calicoSpec(view).mode === 'operator') {
      const [release] = calicoAddon.helmReleases(view);
      return [
        helmUnit('cni', release!, clusterFile(GENERATOR, valuesPath(TIGERA_RELEASE), yamlFile(view.name, [operatorValues(view)]))),
        applyUnit(CALICO_UNIT, 'cni', clusterFile(GENERATOR, CALICO_OPERATOR_CRS_PATH, yamlFile(view.name, operatorResources(view))), { after: [TIGERA_RELEASE] }),
      ];
    }
    // made from the bundle's calico.yaml: in every plan, rendered only when the text is here
    const upstream = inputs.upstream?.calicoManifest;
    const file = upstream === undefined ? clusterFile(GENERATOR, CALICO_NEEDS_UPSTREAM_PATH, needsUpstreamNote(view)) : clusterFile(GENERATOR, CALICO_MANIFEST_PATH, transformCalicoManifest(upstream, view));
    return [{ kind: 'cluster', name: CALICO_UNIT, phase: 'cni', after: [], action: { kind: 'apply', path: CALICO_MANIFEST_PATH }, files: [file], needs: [calicoUpstreamManifestPath(view)] }];
  },
  images(view: ClusterView): string[] {
    return calicoUpstreamImages(view).map((u) => resolveImage(u, view.registry)).sort();
  },
  helmReleases(view: ClusterView): HelmRelease[] {
    const c = calicoSpec(view);
    if (c.mode !== 'operator') return [];
    return [
      {
        release: TIGERA_RELEASE,
        namespace: TIGERA_NAMESPACE,
        chart: 'tigera-operator',
        version: c.version,
        bundlePath: `charts/tigera-operator-${c.version}.tgz`,
      },
    ];
  },
};
