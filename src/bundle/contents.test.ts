import { describe, expect, it } from 'vitest';
import { loadFixture, validFixtureNames } from '../../test/support/fixtures.js';
import { deriveView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import { kubeadmImages, pauseImage } from '../images.js';
import { addonImages, helmReleases } from '../generators/manifests/index.js';
import { imageList } from '../generators/manifests/images/images.js';
import { groupPackages, versionMatches } from './packages.js';
import { bundleContents, bundleNotes, hostUploads, registryPushes, upstreamImages, type BundleRequirement } from './contents.js';
import { imageArchivePath } from './layout.js';

const view = (name: string, edit?: (s: ClusterSpec) => void) => {
  const spec = structuredClone(loadFixture(name));
  edit?.(spec);
  return deriveView(spec);
};
const ofKind = <K extends BundleRequirement['kind']>(items: BundleRequirement[], kind: K) =>
  items.filter((i): i is Extract<BundleRequirement, { kind: K }> => i.kind === kind);

describe('bundleContents', () => {
  it('runbook-ha: rpm groups per role (NVIDIA toolkit for the GPU host), every image, charts, model, helm', () => {
    const v = view('runbook-ha');
    const items = bundleContents(v);
    expect(ofKind(items, 'os-package').map((p) => p.path)).toEqual([
      'packages/rhel8/containerd',
      'packages/rhel8/kubernetes',
      'packages/rhel8/load-balancer',
      'packages/rhel8/nvidia-container-toolkit',
    ]);
    const k8s = ofKind(items, 'os-package').find((p) => p.group === 'kubernetes')!;
    expect(k8s.packages.filter((p) => p.version).map((p) => `${p.name}-${p.version}`)).toEqual(['kubeadm-1.34.3', 'kubelet-1.34.3', 'kubectl-1.34.3']);
    expect(k8s.fetch).toBe('mkdir -p packages/rhel8/kubernetes && yumdownloader --resolve --destdir packages/rhel8/kubernetes kubeadm-1.34.3 kubelet-1.34.3 kubectl-1.34.3 cri-tools kubernetes-cni conntrack-tools socat');
    expect(k8s.source).toContain('https://pkgs.k8s.io/core:/stable:/v1.34/rpm/');
    expect(ofKind(items, 'chart').map((c) => `${c.path}@${c.version}`)).toEqual(helmReleases(v).map((r) => `${r.bundlePath}@${r.version}`).sort());
    expect(ofKind(items, 'model')).toEqual([expect.objectContaining({ name: 'qwen-ollama', path: 'models/qwen2.5-7b.gguf', directory: false })]);
    expect(ofKind(items, 'binary')).toEqual([expect.objectContaining({ name: 'helm', path: 'bin/helm-v3.19.0' })]);
    expect(ofKind(items, 'manifest')).toEqual([expect.objectContaining({ path: 'manifests/calico-v3.27.0.yaml', version: 'v3.27.0' })]);
  });

  it('images: kubeadm ∪ addons, one archive each named after the reference, the pause image containerd uses among them', () => {
    for (const name of validFixtureNames()) {
      const v = view(name);
      const images = ofKind(bundleContents(v), 'image');
      if (!v.registry) expect(images.map((i) => i.image).sort(), name).toEqual(imageList(v));
      expect(images.map((i) => i.image), name).toContain(pauseImage(v.kubernetesVersion, ''));
      expect(new Set(images.map((i) => i.path)).size, name).toBe(images.length);
      for (const i of images) expect(i.path).toBe(imageArchivePath(i.image));
    }
    expect(imageArchivePath('registry.k8s.io/pause:3.10.1')).toBe('images/registry.k8s.io_pause_3.10.1.tar');
  });

  it('with a registry the bundle still carries upstream names; each is pushed under the name the cluster pulls', () => {
    const v = view('private-registry');
    expect(v.registry).not.toBe('');
    const pushes = registryPushes(v);
    expect(pushes.map((p) => p.source)).toEqual(upstreamImages(v));
    // exactly the references the rendered cluster pulls: kubeadm's (coredns flattened) and every addon's
    expect(pushes.map((p) => p.target).sort()).toEqual([...new Set([...kubeadmImages(v.kubernetesVersion, v.registry), ...addonImages(v)])].sort());
    expect(pushes).toContainEqual({ source: 'registry.k8s.io/coredns/coredns:v1.12.1', target: `${v.registry}/coredns:v1.12.1` });
    expect(registryPushes(view('runbook-ha'))).toEqual([]);
  });

  it('debian12: apt-get download of the resolved closure, versions pinned with a glob', () => {
    const pk = ofKind(bundleContents(view('debian12')), 'os-package');
    expect(pk.every((p) => p.os === 'debian12')).toBe(true);
    const cd = pk.find((p) => p.group === 'containerd')!;
    expect(cd.fetch).toMatch(/^mkdir -p packages\/debian12\/containerd && \(cd packages\/debian12\/containerd && apt-get download \$\(apt-get install -s --no-install-recommends 'containerd=[0-9.]+\*' \| sed -nE /);
  });

  it('charts say where they come from; kubernetes-dashboard from its release assets (the Helm repository is gone)', () => {
    const charts = ofKind(bundleContents(view('runbook-ha')), 'chart');
    expect(charts.find((c) => c.name === 'kubernetes-dashboard')!.fetch).toContain('https://github.com/kubernetes/dashboard/releases/download/kubernetes-dashboard-7.14.0/kubernetes-dashboard-7.14.0.tgz');
    expect(charts.find((c) => c.name === 'kube-prometheus-stack')!.fetch).toBe(
      'mkdir -p charts && helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 88.5.3 -d charts',
    );
  });

  it('vLLM weights inside bundleDir are carried; outside it they are a note', () => {
    const outside = view('runbook-ha');
    expect(bundleNotes(outside).join('\n')).toContain('/data/models/Qwen2.5-7B-Instruct must exist on every GPU host');
    const inside = view('runbook-ha', (s) => {
      for (const m of s.spec.models) if (m.engine === 'vllm') m.modelPath = `${s.spec.offline.bundleDir}/models/qwen-vllm`;
    });
    expect(ofKind(bundleContents(inside), 'model').map((m) => [m.path, m.directory])).toContainEqual(['models/qwen-vllm', true]);
  });
});

describe('hostUploads', () => {
  it('each host gets its package groups and the images; the first control plane also charts and helm; GPU hosts the model', () => {
    const v = view('runbook-ha');
    const of = (h: string) => hostUploads(v, v.hosts.find((x) => x.name === h)!);
    expect(of('master1')).toEqual([
      'packages/rhel8/containerd',
      'packages/rhel8/kubernetes',
      'packages/rhel8/load-balancer',
      'images',
      'charts/dify-0.37.0.tgz',
      'charts/gpu-operator-v25.10.1.tgz',
      'charts/kube-prometheus-stack-88.5.3.tgz',
      'charts/kubernetes-dashboard-7.14.0.tgz',
      'bin/helm-v3.19.0',
    ]);
    expect(of('master3')).toEqual(['packages/rhel8/containerd', 'packages/rhel8/kubernetes', 'images']);
    expect(of('gpu1')).toEqual(['packages/rhel8/containerd', 'packages/rhel8/kubernetes', 'packages/rhel8/nvidia-container-toolkit', 'images', 'models/qwen2.5-7b.gguf']);
  });

  it('with a registry only the first control plane receives the image archives (it pushes them)', () => {
    const v = view('private-registry');
    for (const h of v.hosts) expect(hostUploads(v, h).includes('images'), h.name).toBe(h.isFirstControlPlane);
  });
});

describe('versionMatches', () => {
  it('a pin matches its releases and revisions, never a longer version', () => {
    expect(versionMatches('1.34.3-150500.1.1', '1.34.3')).toBe(true);
    expect(versionMatches('1:1.34.3-1.1', '1.34.3')).toBe(true);
    expect(versionMatches('1.6.20~ds1-1+b1', '1.6.20')).toBe(true);
    expect(versionMatches('1.34.3', '1.34.3')).toBe(true);
    expect(versionMatches('1.34.30-1.1', '1.34.3')).toBe(false);
    expect(versionMatches('1.34.2-1.1', '1.34.3')).toBe(false);
  });

  it('groupPackages pins the kubeadm trio to the spec version', () => {
    const v = view('runbook-ha');
    expect(groupPackages('kubernetes', v.hosts[0]!, v).find((p) => p.name === 'kubeadm')).toEqual({ name: 'kubeadm', version: '1.34.3' });
  });
});
