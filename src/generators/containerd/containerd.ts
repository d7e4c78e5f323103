// containerd for Kubernetes on every Kubernetes host: /etc/containerd/config.toml, the NVIDIA drop-in on GPU hosts
// (what the runbook made with `nvidia-ctk runtime configure` plus a hand edit of default_runtime_name), the
// registry mirrors under /etc/containerd/certs.d when a private registry is set, and /etc/crictl.yaml.
//
// Config schema by containerd release: 1.6/1.7 read `version = 2` (one CRI plugin, io.containerd.grpc.v1.cri);
// 2.x reads `version = 3` (io.containerd.cri.v1.images and io.containerd.cri.v1.runtime).
// Drop-ins: containerd < 2.1 does not merge an imported file into the main one, it REPLACES each plugin section the
// import names (facts.md #4; seen with containerd 1.6.20: an nvidia-only drop-in reset sandbox_image to pause:3.6
// and dropped runc's SystemdCgroup). So 99-nvidia.toml carries the complete CRI sections: everything config.toml
// sets, plus the nvidia runtime as the default. containerd >= 2.1 merges; the same self-sufficient drop-in is right
// there too. With the GPU Operator's toolkit (spec toolkit: operator) the drop-in is the toolkit's to write.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { MIRRORED_REGISTRIES, pauseImage } from '../../images.js';
import { NVIDIA_CONTAINER_RUNTIME } from '../../versions.js';
import { hashMarker } from '../render/marker.js';
import { toToml, type TomlTable } from '../render/toml.js';
import { yamlFile } from '../render/yaml.js';
import { hasOverlay, overlayComment } from '../overlay.js';
import { hostFile, type RenderInputs, type Generator, hostUnits, type HostUnit, type HostFile } from '../types.js';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_DROPIN_DIR = '/etc/containerd/conf.d';
export const CONTAINERD_IMPORTS = `${CONTAINERD_DROPIN_DIR}/*.toml`;
export const NVIDIA_DROPIN = `${CONTAINERD_DROPIN_DIR}/99-nvidia.toml`;
export const CERTS_D = '/etc/containerd/certs.d';
export const CONTAINERD_SOCKET = 'unix:///run/containerd/containerd.sock';
export const CRICTL_CONFIG = '/etc/crictl.yaml';
export const RUNC_SHIM = 'io.containerd.runc.v2';

/** Plugin ids per config version. */
export const CRI_V2 = 'io.containerd.grpc.v1.cri';
export const CRI_V3_IMAGES = 'io.containerd.cri.v1.images';
export const CRI_V3_RUNTIME = 'io.containerd.cri.v1.runtime';

export type ContainerdConfigVersion = 2 | 3;

/** `version = 3` for containerd 2.x, `version = 2` for 1.6 and 1.7. */
export function configVersion(containerdVersion: string): ContainerdConfigVersion {
  return Number.parseInt(containerdVersion.split('.')[0]!, 10) >= 2 ? 3 : 2;
}

/** The effective CRI settings, one object for both schemas (what the tests compare against containerd's dump). */
export interface CriSettings {
  sandboxImage: string;
  defaultRuntime: 'runc' | 'nvidia';
  nvidia: boolean;
  configPath: string;
  /** overlay container-node only: runc may not lower oom_score_adj in a node without CAP_SYS_RESOURCE */
  restrictOomScoreAdj?: true;
}

export function criSettings(view: ClusterView, nvidia: boolean, inputs: Pick<RenderInputs, 'overlay'> = {}): CriSettings {
  return {
    ...(hasOverlay(inputs, 'container-node') ? { restrictOomScoreAdj: true as const } : {}),
    // The same pause image kubeadm expects, or its preflight warns and pods use a different sandbox.
    sandboxImage: pauseImage(view.kubernetesVersion, view.registry),
    defaultRuntime: nvidia ? 'nvidia' : 'runc',
    nvidia,
    configPath: CERTS_D,
  };
}

function runtimes(s: CriSettings): TomlTable {
  const t: TomlTable = {
    runc: { runtime_type: RUNC_SHIM, options: { SystemdCgroup: true } },
  };
  if (s.nvidia) {
    t.nvidia = { runtime_type: RUNC_SHIM, options: { BinaryName: NVIDIA_CONTAINER_RUNTIME, SystemdCgroup: true } };
  }
  return t;
}

/** The `plugins` table holding the complete CRI configuration for one schema version. */
export function criPlugins(version: ContainerdConfigVersion, s: CriSettings): TomlTable {
  const containerd = { default_runtime_name: s.defaultRuntime, runtimes: runtimes(s) };
  if (version === 2) {
    return {
      [CRI_V2]: {
        sandbox_image: s.sandboxImage,
        restrict_oom_score_adj: s.restrictOomScoreAdj,
        containerd,
        registry: { config_path: s.configPath },
      },
    };
  }
  return {
    [CRI_V3_IMAGES]: {
      pinned_images: { sandbox: s.sandboxImage },
      registry: { config_path: s.configPath },
    },
    [CRI_V3_RUNTIME]: { containerd, restrict_oom_score_adj: s.restrictOomScoreAdj },
  };
}

export function mainConfig(view: ClusterView, h: HostView, inputs: Pick<RenderInputs, 'overlay'> = {}): TomlTable {
  const version = configVersion(view.cluster.spec.containerRuntime.containerd.version);
  return {
    version,
    // Only GPU hosts import drop-ins (ours, or the GPU Operator toolkit's): nothing else should change the CRI
    // section behind this file's back.
    imports: h.isGpu ? [CONTAINERD_IMPORTS] : undefined,
    plugins: criPlugins(version, criSettings(view, false, inputs)),
  };
}

/**
 * Whether this generator writes 99-nvidia.toml on a GPU host: yes with a host-installed NVIDIA Container Toolkit
 * (the runbook's rpms, /usr/bin/nvidia-container-runtime). No when the GPU Operator installs the toolkit: its
 * toolkit daemonset writes that drop-in itself from `containerd config dump` (src/generators/manifests/gpu-operator),
 * and its runtime binary only exists once it ran, so making nvidia the default before that would stop every pod
 * on the host, the operator's own included. config.toml still imports conf.d there, for the toolkit's drop-in.
 */
export function writesNvidiaDropIn(view: ClusterView, h: HostView): boolean {
  const op = view.cluster.spec.addons.gpuOperator;
  return h.isGpu && !(op.enabled && op.toolkit === 'operator');
}

export function nvidiaDropIn(view: ClusterView, inputs: Pick<RenderInputs, 'overlay'> = {}): TomlTable {
  const version = configVersion(view.cluster.spec.containerRuntime.containerd.version);
  // An imported file may not declare a newer version than the main file; the same one is always right.
  return { version, plugins: criPlugins(version, criSettings(view, true, inputs)) };
}

// ---- registry mirrors (hosts.toml) ----

export interface RegistryRef {
  /** host[:port] */
  host: string;
  /** "/path" or "" */
  path: string;
}

export function parseRegistry(registry: string): RegistryRef {
  const slash = registry.indexOf('/');
  return slash < 0 ? { host: registry, path: '' } : { host: registry.slice(0, slash), path: registry.slice(slash) };
}

/** containerd's default endpoint for an upstream namespace (docker.io is served from registry-1.docker.io). */
export function upstreamServer(upstream: string): string {
  return upstream === 'docker.io' ? 'https://registry-1.docker.io' : `https://${upstream}`;
}

/** TLS settings for our registry: a CA file, or no verification when the spec says so knowingly. */
function registryTls(view: ClusterView): TomlTable {
  const off = view.cluster.spec.offline;
  if (off.registryInsecure) return { skip_verify: true };
  if (off.registryCAFile) return { ca: off.registryCAFile };
  return {};
}

/**
 * /etc/containerd/certs.d/<upstream>/hosts.toml: pulls of <upstream>/<path>:<tag> go to <registry>/<path>:<tag>,
 * the same mapping src/images.ts resolveImage uses. With a /path in the registry the host URL must name the API
 * root itself (https://host:port/v2/path) and set override_path, or containerd would request /path/v2/...
 * `server` stays the upstream, tried only after the mirror fails (containerd's documented mirror layout).
 */
export function mirrorHostsToml(view: ClusterView, upstream: string): TomlTable {
  const r = parseRegistry(view.registry);
  const url = r.path ? `https://${r.host}/v2${r.path}` : `https://${r.host}`;
  return {
    server: upstreamServer(upstream),
    host: {
      [url]: { capabilities: ['pull', 'resolve'], ...registryTls(view), override_path: r.path ? true : undefined },
    },
  };
}

/**
 * /etc/containerd/certs.d/<registry host[:port]>/hosts.toml for images named by the registry itself (kubeadm's
 * imageRepository, the pause image): only needed to hand containerd the CA or skip_verify. The [host] entry is
 * there as well as the root settings because containerd 1.6 fails to parse a hosts.toml without any `host`
 * table and silently falls back to Docker-style cert files.
 */
export function registryHostsToml(view: ClusterView): TomlTable {
  const r = parseRegistry(view.registry);
  const tls = registryTls(view);
  return {
    server: `https://${r.host}`,
    ...tls,
    host: { [`https://${r.host}`]: { capabilities: ['pull', 'resolve'], ...tls } },
  };
}

export function needsRegistryHostDir(view: ClusterView): boolean {
  return !!view.registry && Object.keys(registryTls(view)).length > 0;
}

function tomlFile(view: ClusterView, t: TomlTable, inputs: Pick<RenderInputs, 'overlay'> = {}): string {
  return hashMarker(view.name) + (inputs.overlay ? overlayComment(inputs.overlay) : '') + toToml(t);
}

/**
 * containerd on every Kubernetes node: config.toml (systemd cgroups, the pause image, the registry mirror) and, on GPU
 * hosts, the NVIDIA runtime drop-in carrying the complete CRI section.
 */
export const containerdGenerator: Generator = {
  name: 'containerd',
  units(view: ClusterView, inputs: RenderInputs): HostUnit[] {
    const files: HostFile[] = [];
    const file = (h: HostView, path: string, content: string) => files.push(hostFile('containerd', h.name, path, content));
    // Nodes share a few config.toml texts (with or without the GPU hosts' imports) and the same other files: each
    // text is written once per render, keyed by the table it is written from, not once per host.
    const mainConfigs = new Map<string, string>();
    const mainConfigText = (h: HostView): string => {
      const table = mainConfig(view, h, inputs);
      const key = JSON.stringify(table);
      let text = mainConfigs.get(key);
      if (text === undefined) {
        text = tomlFile(view, table, inputs);
        mainConfigs.set(key, text);
      }
      return text;
    };
    const nvidia = tomlFile(view, nvidiaDropIn(view, inputs), inputs);
    const registryFiles: [string, string][] = [];
    if (view.registry) {
      for (const upstream of MIRRORED_REGISTRIES) registryFiles.push([`${CERTS_D}/${upstream}/hosts.toml`, tomlFile(view, mirrorHostsToml(view, upstream))]);
      if (needsRegistryHostDir(view)) registryFiles.push([`${CERTS_D}/${parseRegistry(view.registry).host}/hosts.toml`, tomlFile(view, registryHostsToml(view))]);
    }
    const crictl = yamlFile(view.name, [{ 'runtime-endpoint': CONTAINERD_SOCKET, 'image-endpoint': CONTAINERD_SOCKET, timeout: 10 }]);
    for (const h of view.hosts) {
      if (!h.isControlPlane && !h.isWorker) continue;
      file(h, CONTAINERD_CONFIG, mainConfigText(h));
      if (writesNvidiaDropIn(view, h)) file(h, NVIDIA_DROPIN, nvidia);
      for (const [path, text] of registryFiles) file(h, path, text);
      file(h, CRICTL_CONFIG, crictl);
    }
    // containerd itself comes with the packages: the planner enables it where it installs them and restarts it when
    // these files change
    return hostUnits('containerd', files, 'container-runtime');
  },
};
