// Image references and how they move to a private registry. One rule for everything we render:
//   <upstream-host>/<path>:<tag>  ->  <registry>/<path>:<tag>
// (docker.io/library/x keeps library/). kubeadm is the exception it imposes itself: with imageRepository R it pulls
// R/kube-apiserver, R/etcd, R/pause and R/coredns (flattened, not R/coredns/coredns).
import { releaseImages } from './versions.js';

export interface ImageName {
  host: string;
  path: string;
  tag: string;
}

export function parseImage(ref: string): ImageName {
  let rest = ref;
  let tag = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    tag = rest.slice(at);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const first = rest.split('/')[0]!;
  let host = 'docker.io';
  let path = rest;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    path = rest.slice(first.length + 1);
  }
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { host, path, tag };
}

export function formatImage(i: ImageName): string {
  return `${i.host}/${i.path}${i.tag.startsWith('@') ? i.tag : `:${i.tag}`}`;
}

/** Fully qualified upstream reference, or its mirror in `registry` when one is set. */
export function resolveImage(ref: string, registry: string): string {
  const i = parseImage(ref);
  if (!registry) return formatImage(i);
  return `${registry}/${i.path}${i.tag.startsWith('@') ? i.tag : `:${i.tag}`}`;
}

export const KUBEADM_UPSTREAM = 'registry.k8s.io';

/** The images kubeadm pulls for a version, as `kubeadm config images list` prints them. */
export function kubeadmImages(kubernetesVersion: string, registry: string): string[] {
  const r = releaseImages(kubernetesVersion);
  if (!r) throw new Error(`no image table for Kubernetes ${kubernetesVersion}`);
  const repo = registry || KUBEADM_UPSTREAM;
  const coredns = registry ? `${repo}/coredns:${r.coredns}` : `${repo}/coredns/coredns:${r.coredns}`;
  return [
    `${repo}/kube-apiserver:${kubernetesVersion}`,
    `${repo}/kube-controller-manager:${kubernetesVersion}`,
    `${repo}/kube-scheduler:${kubernetesVersion}`,
    `${repo}/kube-proxy:${kubernetesVersion}`,
    coredns,
    `${repo}/pause:${r.pause}`,
    `${repo}/etcd:${r.etcd}`,
  ];
}

/** The sandbox (pause) image containerd must use: the same one kubeadm expects, or its preflight warns. */
export function pauseImage(kubernetesVersion: string, registry: string): string {
  const r = releaseImages(kubernetesVersion);
  if (!r) throw new Error(`no image table for Kubernetes ${kubernetesVersion}`);
  return `${registry || KUBEADM_UPSTREAM}/pause:${r.pause}`;
}

/** Upstream registries whose pulls are redirected to the private registry through containerd's hosts.toml. */
export const MIRRORED_REGISTRIES = ['docker.io', 'gcr.io', 'ghcr.io', 'nvcr.io', 'quay.io', 'registry.k8s.io'];
