// What each host installs from the offline bundle, per OS family and role. The bundle keeps each group in its own
// directory (<bundleDir>/packages/<os>/<group>/) with every dependency the group needs on a minimal host, so an
// install is `dnf --disablerepo='*' localinstall` / `dpkg -i` of one directory. The bundle issue lists the same
// groups for the person preparing the bundle on a connected machine.
import type { ClusterView, HostView } from '../spec/derive.js';
import { osProfile, type HostOs, type PackageGroup, type PackageManager } from '../os/profiles.js';

/** A package by name, with the version prefix that must be installed when it matters (kubeadm 1.34.3). */
export interface PackageRef {
  name: string;
  version?: string;
}

export type { PackageGroup };

export function packageManager(os: HostOs): PackageManager {
  return osProfile(os).packages.manager;
}

/** The packages of one group for one host (names from the host's OS profile, versions from the spec). */
export function groupPackages(group: PackageGroup, host: HostView, view: ClusterView): PackageRef[] {
  const k8s = view.kubernetesVersion.replace(/^v/, '');
  const containerd = view.cluster.spec.containerRuntime.containerd.version;
  const names = osProfile(host.os).packages.names;
  switch (group) {
    case 'kubernetes':
      return [
        { name: 'kubeadm', version: k8s },
        { name: 'kubelet', version: k8s },
        { name: 'kubectl', version: k8s },
        { name: 'cri-tools' },
        { name: 'kubernetes-cni' },
        { name: names.conntrack },
        { name: 'socat' },
      ];
    case 'containerd':
      // RHEL: Docker's containerd.io rpm (the runbook's 1.6.32); Debian: the distribution's containerd.
      return [{ name: names.containerd, version: containerd }];
    case 'load-balancer':
      return [{ name: 'keepalived' }, { name: 'haproxy' }];
    case 'nvidia-container-toolkit':
      return [{ name: 'nvidia-container-toolkit' }, { name: 'nvidia-container-toolkit-base' }];
  }
}

/**
 * The package groups a host installs: containerd and kubernetes always; load-balancer on a managed load balancer;
 * nvidia-container-toolkit on a GPU host when the toolkit is preinstalled.
 */
export function hostPackageGroups(host: HostView, view: ClusterView): PackageGroup[] {
  const groups: PackageGroup[] = ['containerd', 'kubernetes'];
  if (host.isLoadBalancer && view.managedLoadBalancer) groups.push('load-balancer');
  if (host.isGpu && view.cluster.spec.addons.gpuOperator.toolkit === 'preinstalled') groups.push('nvidia-container-toolkit');
  return groups;
}

export function packageDir(view: ClusterView, host: HostView, group: PackageGroup): string {
  return `${view.cluster.spec.offline.bundleDir}/packages/${host.os}/${group}`;
}

/**
 * Whether an installed or packaged version satisfies a pinned one: the same version, or the pin followed by a
 * release/revision (1.34.3 matches 1.34.3-150500.1.1 and 1:1.34.3-1.1, never 1.34.30). An epoch ("1:") is ignored.
 */
export function versionMatches(actual: string, wanted: string): boolean {
  const v = actual.replace(/^\d+:/, '');
  const w = wanted.replace(/^\d+:/, '');
  return v === w || (v.startsWith(w) && !/^[0-9A-Za-z]/.test(v.slice(w.length)));
}
