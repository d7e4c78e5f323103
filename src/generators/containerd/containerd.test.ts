import yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { kubeadmImages, MIRRORED_REGISTRIES, parseImage, pauseImage, resolveImage } from '../../images.js';
import { deriveView, type ClusterView } from '../../spec/derive.js';
import type { ClusterSpec } from '../../spec/schema.js';
import { NVIDIA_CONTAINER_RUNTIME } from '../../versions.js';
import { loadFixture, testInputs, validFixtureNames } from '../../../test/support/fixtures.js';
import { renderView } from '../index.js';
import { kubeadmGenerator } from '../kubeadm/kubeadm.js';
import { KUBEADM_INIT_CONFIG } from '../../host-paths.js';
import { markerText } from '../render/marker.js';
import type { HostFile } from '../types.js';
import {
  CONTAINERD_CONFIG,
  CRI_V2,
  CRI_V3_RUNTIME,
  CRICTL_CONFIG,
  configVersion,
  containerdGenerator,
  NVIDIA_DROPIN,
  parseRegistry,
  upstreamServer,
  writesNvidiaDropIn,
} from './containerd.js';
import { effectiveCri, importReplacing } from './effective.js';

type T = Record<string, any>;

function render(spec: ClusterSpec): { view: ClusterView; files: HostFile[] } {
  const view = deriveView(spec);
  return { view, files: renderView(view, testInputs(), [containerdGenerator]) as HostFile[] };
}

function toml(f: HostFile | undefined): T {
  if (!f) throw new Error('missing file');
  return parseToml(f.content) as T;
}

function fileOf(files: HostFile[], host: string, path: string): HostFile | undefined {
  return files.find((f) => f.host === host && f.path === path);
}

/** The pause image kubeadm will look for, read from our own kubeadm output (imageRepository or kubeadm's default). */
function kubeadmPause(spec: ClusterSpec): string {
  const view = deriveView(spec);
  const init = renderView(view, testInputs(), [kubeadmGenerator]).find((f) => f.path === KUBEADM_INIT_CONFIG)!;
  const cc = (yaml.loadAll(init.content) as T[]).find((d) => d.kind === 'ClusterConfiguration')!;
  const repo = cc.imageRepository ?? 'registry.k8s.io';
  const pause = kubeadmImages(cc.kubernetesVersion, spec.spec.offline.registry).find((i) => i.startsWith(`${repo}/pause:`));
  if (!pause) throw new Error(`kubeadm image list has no ${repo}/pause`);
  return pause;
}

/**
 * The URL containerd requests for an image's manifest through a hosts.toml host entry, following containerd's
 * remotes/docker/config/hosts.go: the URL path gets /v2 appended unless override_path is set, then /<repo path>.
 */
function manifestUrl(hostUrl: string, entry: T, image: string): string {
  const u = new URL(hostUrl);
  let path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  if (!entry.override_path && !path.endsWith('/v2')) path = `${path}/v2`;
  const i = parseImage(image);
  return `${u.protocol}//${u.host}${path}/${i.path}/manifests/${i.tag}`;
}

describe.each(validFixtureNames())('containerd files for fixture %s', (name) => {
  const spec = loadFixture(name);
  const { view, files } = render(spec);
  const k8sHosts = view.hosts.filter((h) => h.isControlPlane || h.isWorker);
  const version = configVersion(spec.spec.containerRuntime.containerd.version);

  it('config.toml on every Kubernetes host (none on load-balancer-only hosts), version by containerd release', () => {
    expect(files.filter((f) => f.path === CONTAINERD_CONFIG).map((f) => f.host).sort()).toEqual(k8sHosts.map((h) => h.name).sort());
    expect(version).toBe(spec.spec.containerRuntime.containerd.version.startsWith('1.') ? 2 : 3);
    for (const h of k8sHosts) expect(toml(fileOf(files, h.name, CONTAINERD_CONFIG)).version).toBe(version);
  });

  it('every file starts with the marker, ends with one newline, and TOML files parse', () => {
    for (const f of files) {
      expect(f.content.split('\n')[0], f.path).toBe(`# ${markerText(view.name)}`);
      expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), f.path).toBe(true);
      if (f.path.endsWith('.toml')) expect(() => parseToml(f.content), f.path).not.toThrow();
      expect(f.secret).toBe(false);
    }
  });

  it('main config: runc with SystemdCgroup, sandbox = kubeadm pause, certs.d config_path, runc default, CRI not disabled', () => {
    const pause = kubeadmPause(spec);
    expect(pause).toBe(pauseImage(spec.spec.kubernetesVersion, spec.spec.offline.registry));
    for (const h of k8sHosts) {
      const cfg = toml(fileOf(files, h.name, CONTAINERD_CONFIG));
      expect(effectiveCri(cfg), h.name).toEqual({ sandbox: pause, defaultRuntime: 'runc', runcSystemd: true, nvidia: undefined, configPath: '/etc/containerd/certs.d' });
      expect(cfg.plugins[version === 2 ? CRI_V2 : CRI_V3_RUNTIME].containerd.runtimes.runc.runtime_type).toBe('io.containerd.runc.v2');
      expect(cfg.disabled_plugins).toBeUndefined();
    }
  });

  it('only GPU hosts import drop-ins; they get 99-nvidia.toml unless the GPU Operator installs the toolkit', () => {
    const op = spec.spec.addons.gpuOperator;
    const operatorToolkit = op.enabled && op.toolkit === 'operator';
    for (const h of k8sHosts) {
      const cfg = toml(fileOf(files, h.name, CONTAINERD_CONFIG));
      const dropIn = fileOf(files, h.name, NVIDIA_DROPIN);
      expect(cfg.imports, h.name).toEqual(h.isGpu ? ['/etc/containerd/conf.d/*.toml'] : undefined);
      expect(!!dropIn, h.name).toBe(h.isGpu && !operatorToolkit);
      expect(writesNvidiaDropIn(view, h)).toBe(!!dropIn);
    }
    const expected = operatorToolkit ? [] : view.gpuHosts.map((h) => h.name).sort();
    expect(files.filter((f) => f.path.startsWith('/etc/containerd/conf.d/')).map((f) => f.host).sort()).toEqual(expected);
  });

  it('the NVIDIA drop-in is self-sufficient: with section-replacing imports (containerd < 2.1) nothing is lost', () => {
    const pause = kubeadmPause(spec);
    for (const h of view.gpuHosts.filter((x) => writesNvidiaDropIn(view, x))) {
      const main = toml(fileOf(files, h.name, CONTAINERD_CONFIG));
      const dropIn = toml(fileOf(files, h.name, NVIDIA_DROPIN));
      expect(dropIn.version, 'an import may not be newer than the main file').toBe(main.version);
      const expected = {
        sandbox: pause,
        defaultRuntime: 'nvidia',
        runcSystemd: true,
        nvidia: { runtimeType: 'io.containerd.runc.v2', binary: NVIDIA_CONTAINER_RUNTIME, systemd: true },
        configPath: '/etc/containerd/certs.d',
      };
      expect(effectiveCri(dropIn), `${h.name}: drop-in alone`).toEqual(expected);
      expect(effectiveCri(importReplacing(main, dropIn)), `${h.name}: replace semantics`).toEqual(expected);
      // Every plugin section the main file sets is carried whole by the drop-in (it may only add to it).
      for (const [plugin, section] of Object.entries(main.plugins as T)) {
        expect(dropIn.plugins[plugin], `${h.name}: drop-in lacks ${plugin}`).toMatchObject(withoutKey(section as T, 'default_runtime_name'));
      }
    }
  });

  it('crictl talks to the containerd socket', () => {
    for (const h of k8sHosts) {
      const c = yaml.load(fileOf(files, h.name, CRICTL_CONFIG)!.content) as T;
      expect(c['runtime-endpoint']).toBe('unix:///run/containerd/containerd.sock');
      expect(c['image-endpoint']).toBe('unix:///run/containerd/containerd.sock');
    }
  });

  it('registry mirrors: hosts.toml for every mirrored upstream exactly when offline.registry is set', () => {
    const certs = files.filter((f) => f.path.startsWith('/etc/containerd/certs.d/'));
    if (!spec.spec.offline.registry) {
      expect(certs).toEqual([]);
      return;
    }
    for (const h of k8sHosts) {
      for (const upstream of MIRRORED_REGISTRIES) {
        const t = toml(fileOf(files, h.name, `/etc/containerd/certs.d/${upstream}/hosts.toml`));
        expect(t.server).toBe(upstreamServer(upstream));
        const entries = Object.entries(t.host as T) as [string, T][];
        expect(entries).toHaveLength(1);
        const [url, entry] = entries[0]!;
        expect(entry.capabilities).toEqual(['pull', 'resolve']);
        expect(url.startsWith(`https://${parseRegistry(spec.spec.offline.registry).host}`)).toBe(true);
      }
    }
  });

  it('with a registry, no file names an upstream registry (except the fallback `server` of its own mirror file)', () => {
    if (!spec.spec.offline.registry) return;
    const all = [...files, ...(renderView(view, testInputs(), [kubeadmGenerator]) as HostFile[])];
    for (const f of all) {
      const dir = /^\/etc\/containerd\/certs\.d\/([^/]+)\/hosts\.toml$/.exec(f.path)?.[1];
      const lines = f.content.split('\n').filter((l) => !l.startsWith('#') && !(dir && l === `server = "${upstreamServer(dir)}"`));
      for (const upstream of [...MIRRORED_REGISTRIES, 'registry-1.docker.io']) {
        expect(lines.filter((l) => l.includes(upstream)), `${f.host}:${f.path} names ${upstream}`).toEqual([]);
      }
    }
  });
});

function withoutKey(t: T, key: string): T {
  const out: T = {};
  for (const [k, v] of Object.entries(t)) {
    if (k === key) continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? withoutKey(v, key) : v;
  }
  return out;
}

describe('registry mirrors for hand-made variants', () => {
  const base = loadFixture('private-registry');
  const images = ['docker.io/calico/node:v3.27.0', 'nginx:1.27', 'registry.k8s.io/kube-apiserver:v1.34.3', 'nvcr.io/nvidia/gpu-operator:v25.10.1', 'quay.io/prometheus/prometheus:v3.0.0'];

  function mirror(spec: ClusterSpec, upstream: string): [string, T] {
    const { files } = render(spec);
    const t = toml(fileOf(files, 'master1', `/etc/containerd/certs.d/${upstream}/hosts.toml`));
    return Object.entries(t.host as T)[0] as [string, T];
  }

  it('a registry with a /path: override_path, and containerd requests exactly what resolveImage names', () => {
    expect(base.spec.offline.registry).toBe('registry.local:5000/k8s');
    for (const image of images) {
      const upstream = parseImage(image).host;
      const [url, entry] = mirror(base, upstream);
      expect(url).toBe('https://registry.local:5000/v2/k8s');
      expect(entry.override_path).toBe(true);
      const mirrored = parseImage(`${resolveImage(image, base.spec.offline.registry)}`);
      // resolveImage names registry.local:5000/k8s/<path>:<tag>: the registry serves it at /v2/k8s/<path>.
      expect(manifestUrl(url, entry, image)).toBe(`https://registry.local:5000/v2/${mirrored.path}/manifests/${mirrored.tag}`);
    }
  });

  it('a registry without a path: no override_path, the plain host URL', () => {
    const spec = structuredClone(base);
    spec.spec.offline.registry = 'registry.local:5000';
    for (const image of images) {
      const [url, entry] = mirror(spec, parseImage(image).host);
      expect(url).toBe('https://registry.local:5000');
      expect(entry.override_path).toBeUndefined();
      const mirrored = parseImage(resolveImage(image, spec.spec.offline.registry));
      expect(manifestUrl(url, entry, image)).toBe(`https://registry.local:5000/v2/${mirrored.path}/manifests/${mirrored.tag}`);
    }
  });

  it('the CA file reaches every mirror entry and the registry’s own namespace (which keeps a [host] table)', () => {
    const { files } = render(base);
    const ca = base.spec.offline.registryCAFile;
    expect(ca).toBeDefined();
    expect(mirror(base, 'docker.io')[1].ca).toBe(ca);
    const own = toml(fileOf(files, 'gpu1', '/etc/containerd/certs.d/registry.local:5000/hosts.toml'));
    expect(own.server).toBe('https://registry.local:5000');
    expect(own.ca).toBe(ca);
    expect(own.host['https://registry.local:5000'].ca).toBe(ca);
    expect(own.skip_verify).toBeUndefined();
  });

  it('registryInsecure: skip_verify instead of a CA, everywhere', () => {
    const spec = structuredClone(base);
    spec.spec.offline.registryInsecure = true;
    const { files } = render(spec);
    for (const f of files.filter((x) => x.path.endsWith('/hosts.toml'))) {
      const t = toml(f);
      for (const entry of Object.values(t.host as T)) {
        expect(entry.skip_verify, f.path).toBe(true);
        expect(entry.ca, f.path).toBeUndefined();
      }
    }
  });

  it('neither CA nor insecure: the mirrors still exist, the registry’s own directory is not needed', () => {
    const spec = structuredClone(base);
    delete spec.spec.offline.registryCAFile;
    const { files } = render(spec);
    expect(files.some((f) => f.path === '/etc/containerd/certs.d/registry.local:5000/hosts.toml')).toBe(false);
    expect(files.filter((f) => f.path.endsWith('/hosts.toml') && f.host === 'master1')).toHaveLength(MIRRORED_REGISTRIES.length);
    for (const upstream of MIRRORED_REGISTRIES) {
      const [, entry] = mirror(spec, upstream);
      expect(entry.ca).toBeUndefined();
      expect(entry.skip_verify).toBeUndefined();
    }
  });

  it('containerd 2.x variant of the same spec: version 3 schema with the same effective settings', () => {
    const spec = structuredClone(base);
    spec.spec.containerRuntime.containerd.version = '2.1.4';
    spec.spec.addons.gpuOperator.toolkit = 'preinstalled';
    const { files } = render(spec);
    const main = toml(fileOf(files, 'gpu1', CONTAINERD_CONFIG));
    const dropIn = toml(fileOf(files, 'gpu1', NVIDIA_DROPIN));
    expect(main.version).toBe(3);
    expect(main.plugins[CRI_V2]).toBeUndefined();
    expect(effectiveCri(importReplacing(main, dropIn))).toEqual({
      sandbox: 'registry.local:5000/k8s/pause:3.10.1',
      defaultRuntime: 'nvidia',
      runcSystemd: true,
      nvidia: { runtimeType: 'io.containerd.runc.v2', binary: NVIDIA_CONTAINER_RUNTIME, systemd: true },
      configPath: '/etc/containerd/certs.d',
    });
  });
});

describe('GPU Operator toolkit', () => {
  it('toolkit operator: no drop-in of ours (the toolkit writes it), runc stays default, conf.d still imported', () => {
    const spec = structuredClone(loadFixture('runbook-ha'));
    spec.spec.addons.gpuOperator.toolkit = 'operator';
    const { view, files } = render(spec);
    const gpu = view.gpuHosts[0]!;
    expect(fileOf(files, gpu.name, NVIDIA_DROPIN)).toBeUndefined();
    const cfg = toml(fileOf(files, gpu.name, CONTAINERD_CONFIG));
    expect(cfg.imports).toEqual(['/etc/containerd/conf.d/*.toml']);
    expect(effectiveCri(cfg).defaultRuntime).toBe('runc');
  });

  it('operator disabled: the host toolkit is assumed whatever spec.toolkit says, so our drop-in is written', () => {
    const spec = structuredClone(loadFixture('runbook-ha'));
    spec.spec.addons.gpuOperator = { ...spec.spec.addons.gpuOperator, enabled: false, toolkit: 'operator' };
    const { view, files } = render(spec);
    expect(fileOf(files, view.gpuHosts[0]!.name, NVIDIA_DROPIN)).toBeDefined();
  });
});

describe('configVersion', () => {
  it('maps containerd releases to config schema versions', () => {
    expect(['1.6.32', '1.7.28', '2.0.6', '2.1.4', '10.0.0'].map(configVersion)).toEqual([2, 2, 3, 3, 3]);
  });
});
