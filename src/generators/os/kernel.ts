// Kernel modules and sysctls every Kubernetes node needs (the runbook's init-config.sh does the same by hand).
// Data first, each entry with the reason it exists; the files are rendered from the data, and prepare-os.sh loads the
// same modules and checks the same values after applying them.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { hashMarker, lines } from '../render/marker.js';

export const MODULES_LOAD_PATH = '/etc/modules-load.d/airgap-k8s.conf';
export const SYSCTL_PATH = '/etc/sysctl.d/99-airgap-k8s.conf';

export interface KernelModule {
  name: string;
  why: string;
  /**
   * A shell test that is true when the module's function is already in the running kernel without a /sys/module
   * entry: a built-in module without parameters has none (measured on a kernel with everything built in, where
   * `modprobe` fails for lack of /lib/modules)
   */
  builtIn: string;
}

export interface Sysctl {
  key: string;
  value: string;
  why: string;
}

export const KERNEL_MODULES: readonly KernelModule[] = [
  { name: 'overlay', why: "containerd's default overlayfs snapshotter", builtIn: 'grep -qsw overlay "$KROOT/proc/filesystems"' },
  {
    name: 'br_netfilter',
    why: 'makes bridged traffic visible to iptables; the net.bridge.* sysctls exist only once it is loaded',
    builtIn: 'test -d "$KROOT/proc/sys/net/bridge"',
  },
];

/**
 * Only what kubeadm's preflight, kube-proxy (iptables mode) and Calico require. Deliberately absent:
 * net.ipv4.ip_nonlocal_bind (haproxy binds *:port, not the VIP), net.ipv4.conf.all.route_localnet and
 * net.netfilter.nf_conntrack_max (kube-proxy sets both itself), IPv6 forwarding (the cluster is IPv4-only).
 */
export const SYSCTLS: readonly Sysctl[] = [
  {
    key: 'net.bridge.bridge-nf-call-iptables',
    value: '1',
    why: "bridged pod traffic passes iptables, so kube-proxy's Service rules and Calico's policy see it (kubeadm preflight checks it)",
  },
  { key: 'net.bridge.bridge-nf-call-ip6tables', value: '1', why: 'the same for IPv6 traffic crossing a bridge' },
  { key: 'net.ipv4.ip_forward', value: '1', why: 'nodes route pod traffic between interfaces (kubeadm preflight checks it)' },
  {
    key: 'net.ipv4.conf.all.rp_filter',
    value: '1',
    why: "calico-node exits when reverse-path filtering is loose (2, upstream systemd's default, e.g. Debian); strict (1, RHEL's default) also drops pod-subnet sources spoofed from outside",
  },
];

/** Hosts that run a kubelet; load-balancer-only hosts need none of the kernel preparation. */
export function isKubeNode(h: HostView): boolean {
  return h.isControlPlane || h.isWorker;
}

export function modulesLoadConf(view: ClusterView): string {
  return lines(
    hashMarker(view.name).trimEnd(),
    '# Kernel modules for Kubernetes, loaded at boot by systemd-modules-load (and now by prepare-os.sh).',
    ...KERNEL_MODULES.flatMap((m) => [`# ${m.why}`, m.name]),
  );
}

export function sysctlConf(view: ClusterView): string {
  return lines(
    hashMarker(view.name).trimEnd(),
    '# Kernel settings for Kubernetes, applied at boot by systemd-sysctl (and now by prepare-os.sh, which also checks',
    '# that no later file overrides them).',
    ...SYSCTLS.flatMap((s) => [`# ${s.why}`, `${s.key} = ${s.value}`]),
  );
}
