// What the offline bundle must hold for a spec (pure): OS packages per host OS and group, one archive per image,
// the Helm charts at their pinned versions, Calico's upstream manifest, model files and the helm binary; with the
// command that fetches each item on a connected machine, and which hosts receive which part.
import { posix } from 'node:path';
import type { ClusterView, HostView } from '../spec/derive.js';
import { kubeadmImages, parseImage, formatImage, resolveImage } from '../images.js';
import { addonImages, helmReleases } from '../generators/manifests/index.js';
import { calicoUpstreamManifestPath } from '../generators/manifests/calico/calico.js';
import { groupPackages, hostPackageGroups, type PackageGroup, type PackageRef } from './packages.js';
import { deriveView } from '../spec/derive.js';
import { helmBinaryPath, HELM_VERSION, imageArchivePath, IMAGES_DIR, isUnder, packagesPath } from './layout.js';
import { osProfile, type HostOs } from '../os/profiles.js';

/**
 * One thing a spec needs in the offline bundle: its kind, where it lives in the bundle (`path`) and how a connected
 * machine fetches it (`fetch`).
 */
export type BundleRequirement =
  | {
      kind: 'os-package';
      os: HostOs;
      group: PackageGroup;
      /** the directory: packages/<os>/<group> */
      path: string;
      name: string;
      packages: PackageRef[];
      /** where the connected machine gets them */
      source: string;
      fetch: string;
    }
  | { kind: 'image'; name: string; path: string; image: string; fetch: string }
  | { kind: 'chart'; name: string; version: string; path: string; fetch: string }
  | { kind: 'manifest'; name: string; version: string; path: string; fetch: string }
  | {
      kind: 'model';
      name: string;
      path: string;
      /** a directory (vLLM weights under bundleDir) rather than one file */
      directory: boolean;
      fetch: string;
    }
  | { kind: 'binary'; name: string; version: string; path: string; fetch: string };

/** Where each chart comes from. kubernetes-dashboard's Helm repository is gone (404): its release assets remain. */
const CHART_REPOS: Record<string, string> = {
  headlamp: 'https://kubernetes-sigs.github.io/headlamp/',
  'gpu-operator': 'https://helm.ngc.nvidia.com/nvidia',
  'kube-prometheus-stack': 'https://prometheus-community.github.io/helm-charts',
  dify: 'https://borispolonsky.github.io/dify-helm',
  'tigera-operator': 'https://docs.tigera.io/calico/charts',
};

const q = (s: string) => (/^[A-Za-z0-9_\/.,:=+@%^-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The fetch command for a package group, run from the bundle root on a connected machine of the same OS release as
 * the hosts (a minimal one: dependencies already installed there are not downloaded).
 */
function packageFetch(os: HostOs, dir: string, packages: PackageRef[]): string {
  const p = osProfile(os).packages;
  switch (p.manager) {
    case 'rpm': {
      const specs = packages.map((r) => q(r.version ? `${r.name}-${r.version}` : r.name)).join(' ');
      return `mkdir -p ${dir} && ${p.downloader} --resolve --destdir ${dir} ${specs}`;
    }
    case 'dpkg': {
      const specs = packages.map((r) => q(r.version ? `${r.name}=${r.version}*` : r.name)).join(' ');
      // apt-get download does not resolve dependencies: the simulated install names the closure (with exact versions)
      return (
        `mkdir -p ${dir} && (cd ${dir} && apt-get download $(apt-get install -s --no-install-recommends ${specs} ` +
        `| sed -nE 's/^Inst ([^ ]+) (\\[[^]]*\\] )?\\(([^ ]+) .*/\\1=\\3/p'))`
      );
    }
  }
}

function imageFetch(ref: string, path: string): string {
  return `mkdir -p ${IMAGES_DIR} && docker pull --platform linux/amd64 ${ref} && docker save -o ${path} ${ref}`;
}

function chartFetch(chart: string, version: string, path: string): string {
  const dir = posix.dirname(path);
  if (chart === 'kubernetes-dashboard') {
    return `mkdir -p ${dir} && curl -fL -o ${path} https://github.com/kubernetes/dashboard/releases/download/kubernetes-dashboard-${version}/kubernetes-dashboard-${version}.tgz`;
  }
  const repo = CHART_REPOS[chart] ?? '<REPOSITORY-URL>';
  const pulled = `${dir}/${chart}-${version}.tgz`;
  return `mkdir -p ${dir} && helm pull ${chart} --repo ${repo} --version ${version} -d ${dir}${pulled === path ? '' : ` && mv ${pulled} ${path}`}`;
}

/** Upstream image references the cluster needs, whatever the registry (the bundle carries upstream names). */
export function upstreamImages(view: ClusterView): string[] {
  const plain = view.registry ? deriveView({ ...view.cluster, spec: { ...view.cluster.spec, offline: { ...view.cluster.spec.offline, registry: '' } } }) : view;
  return [...new Set([...kubeadmImages(plain.kubernetesVersion, ''), ...addonImages(plain)].map((r) => formatImage(parseImage(r))))].sort();
}

/**
 * With a private registry: every upstream image and the name it is pushed as. The generators' one rule
 * (resolveImage), except kubeadm's own images, which kubeadm looks for flattened under imageRepository
 * (registry.k8s.io/coredns/coredns -> <registry>/coredns).
 */
export function registryPushes(view: ClusterView): { source: string; target: string }[] {
  if (!view.registry) return [];
  const kubeadmUp = kubeadmImages(view.kubernetesVersion, '');
  const kubeadmReg = kubeadmImages(view.kubernetesVersion, view.registry);
  const special = new Map(kubeadmUp.map((u, i) => [formatImage(parseImage(u)), kubeadmReg[i]!]));
  return upstreamImages(view).map((source) => ({ source, target: special.get(source) ?? resolveImage(source, view.registry) }));
}

/** Every item the bundle must hold for this spec, in layout order. Throws when two images map to one archive name. */
export function bundleContents(view: ClusterView): BundleRequirement[] {
  const out: BundleRequirement[] = [];
  const minor = view.kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.');

  // packages: per OS family and group, from the hosts that need them
  const groups = new Map<string, { os: HostOs; group: PackageGroup; host: HostView }>();
  for (const h of view.hosts) {
    for (const g of hostPackageGroups(h, view)) {
      const key = packagesPath(h.os, g);
      if (!groups.has(key)) groups.set(key, { os: h.os, group: g, host: h });
    }
  }
  for (const [path, { os, group, host }] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const packages = groupPackages(group, host, view);
    out.push({
      kind: 'os-package',
      os,
      group,
      path,
      name: `${os}/${group}`,
      packages,
      source: osProfile(os).packages.sources[group].replace('{minor}', minor),
      fetch: packageFetch(os, path, packages),
    });
  }

  // images: one archive each
  const byPath = new Map<string, string>();
  for (const image of upstreamImages(view)) {
    const path = imageArchivePath(image);
    const other = byPath.get(path);
    if (other) throw new Error(`images ${other} and ${image} would share the archive ${path}`);
    byPath.set(path, image);
    out.push({ kind: 'image', name: image, path, image, fetch: imageFetch(image, path) });
  }

  // charts
  const releases = helmReleases(view);
  for (const r of [...releases].sort((a, b) => (a.bundlePath < b.bundlePath ? -1 : 1))) {
    if (out.some((x) => x.path === r.bundlePath)) continue;
    out.push({ kind: 'chart', name: r.chart, version: r.version, path: r.bundlePath, fetch: chartFetch(r.chart, r.version, r.bundlePath) });
  }

  // Calico's upstream manifest (manifest mode): read on this machine to render cluster/10-calico.yaml
  const calico = view.cluster.spec.addons.cni.calico;
  if (calico.mode === 'manifest') {
    const path = calicoUpstreamManifestPath(view);
    out.push({
      kind: 'manifest',
      name: 'calico',
      version: calico.version,
      path,
      fetch: `mkdir -p ${posix.dirname(path)} && curl -fL -o ${path} https://raw.githubusercontent.com/projectcalico/calico/${calico.version}/manifests/calico.yaml`,
    });
  }

  // model files
  for (const m of view.cluster.spec.models) {
    if (m.engine === 'ollama' && m.modelFile) {
      out.push({ kind: 'model', name: m.name, path: m.modelFile, directory: false, fetch: `mkdir -p ${posix.dirname(m.modelFile)} && cp /path/to/the/GGUF/of/${q(m.model)} ${m.modelFile}` });
    }
    const inBundle = m.engine === 'vllm' ? bundleRelative(view, m.modelPath) : undefined;
    if (inBundle) out.push({ kind: 'model', name: m.name, path: inBundle, directory: true, fetch: `mkdir -p ${inBundle} && cp -r /path/to/the/weights/. ${inBundle}/` });
  }

  // helm, for the releases above
  if (releases.length > 0) {
    const path = helmBinaryPath();
    out.push({
      kind: 'binary',
      name: 'helm',
      version: HELM_VERSION,
      path,
      fetch: `mkdir -p bin && curl -fL https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz | tar -xzO linux-amd64/helm > ${path} && chmod 0755 ${path}`,
    });
  }
  return out;
}

/** A host path under spec.offline.bundleDir as a bundle-relative path, else undefined. */
export function bundleRelative(view: ClusterView, hostPath: string): string | undefined {
  const root = view.cluster.spec.offline.bundleDir.replace(/\/+$/, '');
  return hostPath.startsWith(`${root}/`) ? hostPath.slice(root.length + 1).replace(/\/+$/, '') : undefined;
}

/** Things the bundle cannot carry that the hosts still need: for the person preparing the install. */
export function bundleNotes(view: ClusterView): string[] {
  const notes: string[] = [];
  for (const m of view.cluster.spec.models) {
    if (m.engine === 'vllm' && !bundleRelative(view, m.modelPath)) {
      notes.push(`model ${m.name}: the vLLM weights directory ${m.modelPath} must exist on every GPU host (outside the bundle directory ${view.cluster.spec.offline.bundleDir}, so not carried)`);
    }
    if (m.engine === 'ollama' && !m.modelFile) {
      notes.push(`model ${m.name}: no modelFile, so Ollama starts without ${m.model} (offline it cannot pull it)`);
    }
  }
  if (view.registry) {
    notes.push(`images are pushed from the bundle to ${view.registry} once, from ${view.firstControlPlane.name}; the other hosts pull them from there`);
  }
  return notes;
}

/** Hosts a model's files must be on: where its pod can run. */
function modelHosts(view: ClusterView, gpus: number): HostView[] {
  if (gpus > 0) return view.gpuHosts;
  return view.workers.length > 0 ? view.workers : view.hosts;
}

/**
 * The parts of the bundle one host receives (bundle-relative files or directories): its package groups, the image
 * archives (every host without a registry; only the first control plane, which pushes them, with one), the charts and
 * helm (first control plane: cluster steps run there) and the model files where the model can run.
 */
export function hostUploads(view: ClusterView, host: HostView, contents = bundleContents(view)): string[] {
  const out: string[] = [];
  for (const g of hostPackageGroups(host, view)) out.push(packagesPath(host.os, g));
  if (!view.registry || host.isFirstControlPlane) {
    if (contents.some((c) => c.kind === 'image')) out.push(IMAGES_DIR);
  }
  if (host.isFirstControlPlane) {
    for (const c of contents) if (c.kind === 'chart' || c.kind === 'binary') out.push(c.path);
  }
  for (const m of view.cluster.spec.models) {
    const path = m.engine === 'ollama' ? m.modelFile : bundleRelative(view, m.modelPath);
    if (path && modelHosts(view, m.gpus).some((h) => h.name === host.name) && !out.some((p) => isUnder(path, p))) out.push(path);
  }
  return out;
}
