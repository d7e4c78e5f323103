// OS preparation: kernel modules, sysctls and prepare-os.sh on every host; firewall.sh on hosts whose OS runs firewalld.
import type { ClusterView } from '../../spec/derive.js';
import { osProfile } from '../../os/profiles.js';
import { hostFile, type RenderInputs, type Generator, hostUnits, type HostUnit } from '../types.js';
import { FIREWALL_PATH, firewallScript } from './firewall.js';
import { MODULES_LOAD_PATH, SYSCTL_PATH, isKubeNode, modulesLoadConf, sysctlConf } from './kernel.js';
import { PREPARE_OS_PATH, prepareOsScript, RSHARED_UNIT_PATH, rsharedUnit } from './prepare.js';
import { hasOverlay } from '../overlay.js';

/**
 * OS preparation on every host: kernel modules, sysctls and prepare-os.sh (swap, SELinux, packages as the OS profile
 * says).
 */
export const osGenerator: Generator = {
  name: 'os',
  units(view: ClusterView, inputs: RenderInputs): HostUnit[] {
    // the same text on every node: made once, not once per host
    const modules = modulesLoadConf(view);
    const sysctls = sysctlConf(view);
    const rshared = hasOverlay(inputs, 'container-node') ? rsharedUnit(view) : undefined;
    const files = view.hosts.flatMap((h) => [
      ...(isKubeNode(h) ? [hostFile('os', h.name, MODULES_LOAD_PATH, modules), hostFile('os', h.name, SYSCTL_PATH, sysctls)] : []),
      ...(isKubeNode(h) && rshared !== undefined ? [hostFile('os', h.name, RSHARED_UNIT_PATH, rshared)] : []),
      hostFile('os', h.name, PREPARE_OS_PATH, prepareOsScript(view, h, inputs), { mode: 0o755 }),
    ]);
    return hostUnits('os', files, 'prepare-os', {
      run: { id: 'run', argv: ['/bin/sh', PREPARE_OS_PATH], description: 'run prepare-os.sh (swap off, SELinux permissive, modules, sysctls, /etc/hosts, hostname)' },
    });
  },
};

/** Hosts whose OS ships firewalld running (RHEL); see firewall.ts for why the others get no firewall file. */
export const firewallGenerator: Generator = {
  name: 'firewall',
  units(view: ClusterView): HostUnit[] {
    const files = view.hosts.filter((h) => osProfile(h.os).firewall === 'firewalld').map((h) => hostFile('firewall', h.name, FIREWALL_PATH, firewallScript(view, h), { mode: 0o755 }));
    return hostUnits('firewall', files, 'prepare-os', {
      run: { id: 'firewall', argv: ['/bin/sh', FIREWALL_PATH], description: "open the ports this host's roles need in firewalld (VRRP only from the peer LB hosts)" },
    });
  },
};
