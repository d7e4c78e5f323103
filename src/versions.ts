// Versions and images pinned per Kubernetes release. Facts: shared/reference/facts.md ("Images for v1.34.3"),
// to be confirmed by `kubeadm config images list --kubernetes-version v1.34.3` in the toolchain tier.

export interface KubeReleaseImages {
  etcd: string;
  coredns: string;
  pause: string;
}

/** Per minor version; patch releases of a minor share these unless listed in `patches`. */
const RELEASES: Record<string, KubeReleaseImages> = {
  '1.34': { etcd: '3.6.5-0', coredns: 'v1.12.1', pause: '3.10.1' },
  // k8s.io/kubernetes@v1.35.0 cmd/kubeadm/app/constants/constants.go (Go module proxy): DefaultEtcdVersion 3.6.6-0,
  // CoreDNSVersion v1.13.1, PauseVersion 3.10.1. An upgrade target: planned and preflighted, not yet run in CI.
  '1.35': { etcd: '3.6.6-0', coredns: 'v1.13.1', pause: '3.10.1' },
};

/** Minors airgap-k8s installs and upgrades for real in CI; the others in RELEASES are planned only. */
export const PROVEN_KUBERNETES_MINORS = ['1.34'];

export const SUPPORTED_KUBERNETES_MINORS = Object.keys(RELEASES);
export const DEFAULT_KUBERNETES_VERSION = 'v1.34.3';

export function kubeMinor(version: string): string {
  const m = /^v?(\d+)\.(\d+)\./.exec(version);
  return m ? `${m[1]}.${m[2]}` : '';
}

export function releaseImages(version: string): KubeReleaseImages | undefined {
  return RELEASES[kubeMinor(version)];
}

/** containerd releases the Kubernetes 1.34 support matrix accepts: 2.1.3+, 2.0.6+, 1.7.28+, 1.6.39+. */
export const CONTAINERD_MIN_FOR_K8S_134: Record<string, string> = {
  '1.6': '1.6.39',
  '1.7': '1.7.28',
  '2.0': '2.0.6',
  '2.1': '2.1.3',
};

export const NVIDIA_CONTAINER_RUNTIME = '/usr/bin/nvidia-container-runtime';

