// /etc/hostname and the cluster's block in /etc/hosts (the runbook's `hostnamectl set-hostname` and `vim /etc/hosts`).
// The block is delimited so that applying it replaces only our lines, never the host's own entries.
import type { ClusterView } from '../../spec/derive.js';
import { hashMarker, lines } from '../render/marker.js';
import { hostFile, type Generator, hostUnits, type HostUnit } from '../types.js';

export const HOSTS_BEGIN = '# BEGIN airgap-k8s';
export const HOSTS_END = '# END airgap-k8s';

/** The lines between the markers: every host, in spec order, padded for reading. */
export function hostsBlock(view: ClusterView): string {
  const width = Math.max(...view.hosts.map((h) => h.address.length));
  return lines(
    HOSTS_BEGIN,
    hashMarker(view.name).trimEnd(),
    ...view.hosts.map((h) => `${h.address.padEnd(width)} ${h.name}`),
    HOSTS_END,
  );
}

/** /etc/hostname and the cluster's delimited block in /etc/hosts (every host by name) on every host. */
export const hostsGenerator: Generator = {
  name: 'hosts',
  units(view: ClusterView): HostUnit[] {
    const block = hostsBlock(view);
    const files = view.hosts.flatMap((h) => [
      hostFile('hosts', h.name, '/etc/hostname', `${h.name}\n`),
      // A fragment, merged into /etc/hosts between the markers by prepare-os.sh (the os unit's run).
      hostFile('hosts', h.name, '/etc/hosts.d/airgap-k8s.hosts', block),
    ]);
    return hostUnits('hosts', files, 'prepare-os');
  },
};
