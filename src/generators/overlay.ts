// Overlays: named sets of settings for hosts that are not the machines the spec describes, applied on top of what
// real hosts get and shown in the plan. The render inputs carry the overlay's name (the executor that will apply the plan
// knows where it runs; the generators never ask), each generator it touches applies exactly its settings and says
// so in the file, and without an overlay every file is byte-identical to the goldens.
//
// container-node: every host is a privileged systemd container sharing this machine's kernel (`airgap-k8s rehearse`,
// the kind executor, CI). Measured on the CI machines (../shared/reference/test-infra.md): their capability bounding
// set lacks CAP_SYS_RESOURCE, so inside a node runc cannot set a container's oom_score_adj and kube-proxy cannot
// raise nf_conntrack_max; the kernel's modules are built in; sysctls outside the network namespace belong to the
// machine and every other container on it.

/** The names of the known overlays. */
export type OverlayName = 'container-node';

/** One setting of an overlay: what it changes, to what, and why the hosts need it. */
export interface OverlaySetting {
  /** the file or config object it changes */
  target: string;
  setting: string;
  why: string;
}

/**
 * A named set of settings for hosts that are not the machines the spec describes (containers on one shared kernel),
 * applied on top of what real hosts get and printed at the top of the plan.
 */
export interface Overlay {
  name: OverlayName;
  summary: string;
  settings: readonly OverlaySetting[];
}

/** Every overlay by name, with its settings. */
export const OVERLAYS: Record<OverlayName, Overlay> = {
  'container-node': {
    name: 'container-node',
    summary: 'hosts are privileged containers on one shared kernel (rehearsal, CI); real hosts never get this',
    settings: [
      {
        target: '/etc/containerd/config.toml (CRI plugin)',
        setting: 'restrict_oom_score_adj = true',
        why: 'the node lacks CAP_SYS_RESOURCE: runc fails every pod sandbox when it may not lower oom_score_adj',
      },
      {
        target: 'kubeadm KubeProxyConfiguration',
        setting: 'conntrack.maxPerCore: 0',
        why: 'nf_conntrack_max is the shared kernel\'s: kube-proxy crash-loops when it may not write it',
      },
      {
        target: 'kubeadm InitConfiguration/JoinConfiguration nodeRegistration',
        setting: 'ignorePreflightErrors: [SystemVerification]',
        why: 'a container has no kernel config file for kubeadm\'s system verification to read',
      },
      {
        target: 'kubeadm KubeletConfiguration + /etc/kubernetes/airgap-k8s/resolv.conf',
        setting: 'resolvConf naming the node\'s own address',
        why: 'the container\'s resolv.conf names docker\'s 127.0.0.11, which in CoreDNS\'s pod is CoreDNS itself: its loop check stops it',
      },
      {
        target: 'kubeadm KubeletConfiguration',
        setting: 'imageGCHighThresholdPercent: 100 (image garbage collection off)',
        why: 'the image filesystem is the shared machine\'s disk: GC removed bundle images that nothing can pull back offline',
      },
      {
        target: 'kubeadm KubeletConfiguration',
        setting: 'evictionHard: nodefs/imagefs.available 1% (memory.available 100Mi, nodefs.inodesFree 1%)',
        why: 'the disk is the shared machine\'s: at its default 15% free every node was tainted disk-pressure and nothing scheduled',
      },
      {
        target: '/etc/systemd/system/airgap-k8s-rshared.service (+ prepare-os.sh step mounts)',
        setting: 'mount --make-rshared / at every boot',
        why: 'a container\'s / is a slave mount; kubelet refuses Bidirectional mounts (Calico\'s bpffs under /sys/fs) below it',
      },
      {
        target: '/usr/local/lib/airgap-k8s/prepare-os.sh (sysctl)',
        setting: 'per-network-namespace keys written with sysctl -w, no `sysctl --system`',
        why: '`sysctl --system` would apply the distribution\'s global kernel settings to the machine every container shares',
      },
    ],
  },
};

export function overlayOf(inputs: { overlay?: OverlayName }): Overlay | undefined {
  return inputs.overlay ? OVERLAYS[inputs.overlay] : undefined;
}

export function hasOverlay(inputs: { overlay?: OverlayName }, name: OverlayName): boolean {
  return inputs.overlay === name;
}

/** One comment line for a '#'-comment file an overlay changed. */
export function overlayComment(name: OverlayName): string {
  return `# overlay ${name}: ${OVERLAYS[name].summary}\n`;
}
