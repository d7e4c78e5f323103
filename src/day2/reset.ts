// `airgap-k8s reset`: every host back to where it was before the install, as far as kubeadm reset and our own files
// allow: workers first (in parallel), then the control planes one at a time, the first one last (each kubeadm
// reset takes its etcd member out while the others still hold the quorum). Every file the install wrote is removed
// (the install plan says which); with purge also the packages it installed, containerd's images and the bundle on
// the host. What stays is said in the plan. Pure.
import type { ClusterView, HostView } from '../spec/derive.js';
import type { Plan, Step } from '../plan/types.js';
import { PACKAGE_MANAGERS } from '../os/profiles.js';
import { HOST_RESET_SCRIPT, HOST_RESET_PROBE } from './change.js';

const MIN = 60_000;
/** written by the install, but the host's own: the name it got stays its name */
const KEPT_FILES = ['/etc/hostname'];

export interface ResetPlan {
  plan: Plan;
  /** what stays on the hosts, for the user */
  leaves: string[];
}

export function resetPlan(view: ClusterView, install: Plan, opts: { purge: boolean }): ResetPlan {
  const installSteps = install.phases.flatMap((p) => p.steps);
  const hostSteps = (h: HostView): Step[] => {
    const base = { phase: h.isControlPlane ? ('reset-control-planes' as const) : ('reset-workers' as const), host: h.name, retry: { attempts: 1, backoffMs: 0 }, destructive: true };
    const files = [...new Set(installSteps.filter((s) => s.host === h.name && s.kind === 'write-file').map((s) => (s as Extract<Step, { kind: 'write-file' }>).path))]
      .filter((f) => !KEPT_FILES.includes(f))
      .sort();
    const steps: Step[] = [
      {
        ...base,
        id: `${base.phase}/${h.name}/kubeadm-reset`,
        kind: 'exec',
        description: `kubeadm reset on ${h.name}${h.isControlPlane ? ' (leaves etcd)' : ''}; kubelet${h.isLoadBalancer ? ', keepalived, haproxy' : ''} stopped and disabled; CNI config removed`,
        argv: ['sh', '-c', HOST_RESET_SCRIPT, 'host-reset', h.isLoadBalancer ? 'lb' : 'node'],
        timeoutMs: 10 * MIN,
        probe: { kind: 'command', argv: ['sh', '-c', HOST_RESET_PROBE, 'host-reset-probe'] },
      },
      {
        ...base,
        id: `${base.phase}/${h.name}/files`,
        kind: 'exec',
        description: `remove the ${files.length} files the install wrote on ${h.name}`,
        argv: ['rm', '-f', '--', ...files],
        timeoutMs: MIN,
        probe: { kind: 'command', argv: ['sh', '-c', 'for f; do [ ! -e "$f" ] || exit 1; done', 'none-left', ...files] },
      },
    ];
    if (opts.purge) {
      const packages = installSteps.flatMap((s) => (s.host === h.name && s.kind === 'install-packages' ? s.packages.map((p) => p.name) : []));
      const manager = installSteps.find((s): s is Extract<Step, { kind: 'install-packages' }> => s.host === h.name && s.kind === 'install-packages')?.manager;
      steps.push({
        ...base,
        id: `${base.phase}/${h.name}/images`,
        kind: 'exec',
        description: `remove every image from containerd's k8s.io namespace on ${h.name}`,
        argv: ['sh', '-c', 'if command -v ctr >/dev/null; then ids=$(ctr -n k8s.io images ls -q); [ -z "$ids" ] || ctr -n k8s.io images rm $ids >/dev/null; fi'],
        timeoutMs: 5 * MIN,
      });
      if (manager && packages.length > 0) {
        steps.push({
          ...base,
          id: `${base.phase}/${h.name}/packages`,
          kind: 'exec',
          description: `remove the packages the install put on ${h.name}: ${[...new Set(packages)].join(' ')}`,
          argv: ['sh', '-c', `systemctl disable --now containerd 2>/dev/null || true\n${PACKAGE_MANAGERS[manager].remove}`, 'remove-packages', ...new Set(packages)],
          timeoutMs: 10 * MIN,
        });
      }
      steps.push({
        ...base,
        id: `${base.phase}/${h.name}/bundle`,
        kind: 'exec',
        description: `remove the offline bundle from ${h.name} (${view.cluster.spec.offline.bundleDir})`,
        argv: ['rm', '-rf', '--', view.cluster.spec.offline.bundleDir],
        timeoutMs: 5 * MIN,
      });
    }
    return steps;
  };
  const workers = view.hosts.filter((h) => !h.isControlPlane);
  // the first control plane last: the others leave etcd while it still serves
  const cps = [...view.controlPlanes.filter((h) => !h.isFirstControlPlane), view.firstControlPlane];
  const phases: Plan['phases'] = [];
  if (workers.length) phases.push({ name: 'reset-workers', serial: false, steps: workers.flatMap(hostSteps) });
  phases.push({ name: 'reset-control-planes', serial: true, ordered: true, steps: cps.flatMap(hostSteps) });
  const leaves = opts.purge
    ? ['iptables/IPVS rules and the network interfaces Calico made (vxlan.calico, cali*): kubeadm reset does not remove them; a reboot does', 'the kernel settings prepare-os applied at runtime (swap off, modules, sysctls) until the next reboot', '/etc/hostname (the name the install gave the host)']
    : [
        'the packages the install put there (containerd, kubeadm, kubelet, kubectl, keepalived, haproxy, ...)',
        "containerd's images (the bundle's images, imported)",
        `the offline bundle on each host (${view.cluster.spec.offline.bundleDir})`,
        'iptables/IPVS rules and the network interfaces Calico made (vxlan.calico, cali*): kubeadm reset does not remove them; a reboot does',
        'the kernel settings prepare-os applied at runtime (swap off, modules, sysctls) until the next reboot',
        '/etc/hostname (the name the install gave the host)',
      ];
  return { plan: { cluster: view.name, phases }, leaves };
}
