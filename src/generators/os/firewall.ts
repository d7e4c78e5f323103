// /usr/local/lib/airgap-k8s/firewall.sh: what each host's roles need opened in firewalld (RHEL 8 and 9 ship it running;
// RHEL 9's nftables backend takes the same firewall-cmd calls).
// The rules are data (firewallRules) rendered into firewall-cmd calls; every value comes from the validated spec
// (IPv4 addresses, CIDRs, port numbers, the interface name) or is a constant here.
//
// Hosts whose OS profile says `firewall: 'none'` (debian12) get no firewall file: Debian installs no firewall by
// default, and guessing at one (nftables, ufw) could lock the cluster out. An nftables variant can be added when a
// spec asks for one.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { shellScript } from '../render/marker.js';
import { isKubeNode } from './kernel.js';
import { cidrContains } from '../../spec/net.js';

export { FIREWALL_PATH } from '../../host-paths.js';

/** VRRP (IP protocol 112) multicast group; with unicast VRRP the packets go to the peer's own address. */
export const VRRP_MULTICAST = '224.0.0.18';
/** IP protocol numbers, not names: /etc/protocols calls protocol 4 "ipencap" and "ipip" is 94 there. */
export const PROTO_VRRP = 112;
export const PROTO_IPIP = 4;

export type FirewallRule =
  /** open a port or range in the host's zone */
  | { kind: 'port'; port: string; protocol: 'tcp' | 'udp'; why: string }
  /** accept from one peer only (firewalld rich rule in the host's zone) */
  | { kind: 'from-peer'; source: string; destination?: string; protocol?: number; port?: { port: number; protocol: 'tcp' | 'udp' }; why: string }
  /** a source CIDR of the trusted zone */
  | { kind: 'trusted-source'; cidr: string; why: string };

/**
 * The port the apiserver listens on: the load balancer's backend port, or the endpoint's port when the endpoint is a
 * control plane's own address (no load balancer), else kubeadm's 6443.
 * TODO: move to deriveView when the kubeadm generator sets localAPIEndpoint.bindPort, so both read one rule.
 */
export function apiserverPort(view: ClusterView): number {
  const lb = view.cluster.spec.controlPlane.loadBalancer;
  if (lb) return lb.backendPort;
  const ep = view.endpoint;
  return view.controlPlanes.some((h) => h.address === ep.host) ? ep.port : 6443;
}

const outsideCache = new WeakMap<ClusterView, HostView[]>();
/** Kubernetes nodes whose address is not in spec.network.hostSubnet (all of them when it is unset); once per view. */
function nodesOutsideSubnet(view: ClusterView): HostView[] {
  let r = outsideCache.get(view);
  if (!r) {
    const subnet = view.cluster.spec.network.hostSubnet;
    r = view.hosts.filter((p) => isKubeNode(p) && (!subnet || !cidrContains(subnet, p.address)));
    outsideCache.set(view, r);
  }
  return r;
}

export function firewallRules(view: ClusterView, h: HostView): FirewallRule[] {
  const s = view.cluster.spec;
  const rules: FirewallRule[] = [];
  const port = (p: string | number, protocol: 'tcp' | 'udp', why: string) => rules.push({ kind: 'port', port: String(p), protocol, why });

  if (h.isControlPlane) {
    port(apiserverPort(view), 'tcp', 'kube-apiserver');
    port('2379-2380', 'tcp', 'etcd client and peer traffic between control planes');
    port(10257, 'tcp', 'kube-controller-manager secure port (health, metrics)');
    port(10259, 'tcp', 'kube-scheduler secure port (health, metrics)');
  }
  if (view.managedLoadBalancer && h.isLoadBalancer) {
    port(view.endpoint.port, 'tcp', 'haproxy frontend for the apiserver virtual IP');
    const unicast = s.controlPlane.loadBalancer?.unicast ?? false;
    for (const peer of view.lbHosts.filter((p) => p !== h)) {
      rules.push({
        kind: 'from-peer',
        source: peer.address,
        destination: unicast ? h.address : VRRP_MULTICAST,
        protocol: PROTO_VRRP,
        why: `VRRP adverts from keepalived on ${peer.name} (${unicast ? 'unicast' : `multicast to ${VRRP_MULTICAST}`})`,
      });
    }
  }
  if (isKubeNode(h)) {
    port(10250, 'tcp', 'kubelet API (apiserver to kubelet: logs, exec, metrics)');
    // kube-proxy answers NodePorts on every node, control planes included, for TCP and UDP Services alike.
    // (kube-proxy's health port 10256 is only for external cloud load balancers: not opened.)
    const { from, to } = s.network.nodePortRange;
    port(`${from}-${to}`, 'tcp', 'NodePort Services (TCP)');
    port(`${from}-${to}`, 'udp', 'NodePort Services (UDP)');

    const calico = s.addons.cni.calico;
    // VXLAN mode runs without BGP (calico_backend vxlan); IPIP and unencapsulated routing exchange routes over BGP.
    if (calico.encapsulation !== 'VXLAN') port(179, 'tcp', 'Calico BGP (BIRD) between nodes');
    if (calico.mode === 'operator') port(5473, 'tcp', 'Calico Typha (the operator always deploys it)');
    // Encapsulated pod traffic only from other nodes: one rule for the host subnet when the spec names it (so a
    // 500-node cluster gets one rule, not 499 per host), one per node otherwise (and for nodes outside that subnet).
    const subnet = s.network.hostSubnet;
    const sources: { source: string; from: string }[] = subnet ? [{ source: subnet, from: `the host subnet ${subnet}` }] : [];
    for (const peer of nodesOutsideSubnet(view)) {
      if (peer !== h) sources.push({ source: peer.address, from: peer.name });
    }
    for (const { source, from } of sources) {
      if (calico.encapsulation === 'IPIP') {
        rules.push({ kind: 'from-peer', source, protocol: PROTO_IPIP, why: `Calico IP-in-IP from ${from}` });
      } else if (calico.encapsulation === 'VXLAN') {
        rules.push({ kind: 'from-peer', source, port: { port: 4789, protocol: 'udp' }, why: `Calico VXLAN from ${from}` });
      }
    }
    // Calico recommends not running firewalld at all. When it runs, forwarded pod traffic hits firewalld's final
    // reject (projectcalico/calico#5232); pod and Service addresses as sources of the trusted zone let it through.
    // Spoofing those sources from outside is stopped by rp_filter=1 (sysctl.d/99-airgap-k8s.conf).
    rules.push({ kind: 'trusted-source', cidr: s.network.podSubnet, why: 'pod network (spec.network.podSubnet)' });
    rules.push({ kind: 'trusted-source', cidr: s.network.serviceSubnet, why: 'Service network (spec.network.serviceSubnet)' });
  }
  return dedupe(rules);
}

/** The firewall-cmd arguments of a rule: [zone, what, value] for `--permanent --zone=Z --add-WHAT=VALUE`. */
export function ruleArgs(r: FirewallRule): { zone: 'host' | 'trusted'; what: 'port' | 'rich-rule' | 'source'; value: string } {
  switch (r.kind) {
    case 'port':
      return { zone: 'host', what: 'port', value: `${r.port}/${r.protocol}` };
    case 'trusted-source':
      return { zone: 'trusted', what: 'source', value: r.cidr };
    case 'from-peer': {
      const parts = ['rule family="ipv4"', `source address="${r.source}"`];
      if (r.destination) parts.push(`destination address="${r.destination}"`);
      if (r.protocol !== undefined) parts.push(`protocol value="${r.protocol}"`);
      if (r.port) parts.push(`port port="${r.port.port}" protocol="${r.port.protocol}"`);
      parts.push('accept');
      return { zone: 'host', what: 'rich-rule', value: parts.join(' ') };
    }
  }
}

function dedupe(rules: FirewallRule[]): FirewallRule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const a = ruleArgs(r);
    const k = `${a.zone} ${a.what} ${a.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function roles(h: HostView): string {
  return [h.isControlPlane && 'control plane', h.isWorker && 'worker', h.isLoadBalancer && 'load balancer'].filter(Boolean).join(', ');
}

export function firewallScript(view: ClusterView, h: HostView): string {
  const zone = h.interface
    ? `zone=$(firewall-cmd --get-zone-of-interface=${h.interface} 2>/dev/null) || zone=$(firewall-cmd --get-default-zone)`
    : 'zone=$(firewall-cmd --get-default-zone)';
  const calls = firewallRules(view, h).flatMap((r) => {
    const a = ruleArgs(r);
    return [`# ${r.why}`, `ensure ${a.zone === 'trusted' ? 'trusted' : '"$zone"'} ${a.what} '${a.value}'`];
  });
  return shellScript(
    view.name,
    `# Opens in firewalld what ${h.name} needs (${roles(h)}). Rules are added permanently, then loaded with one
# --reload when something was added. Idempotent: a second run adds nothing and does not reload.
set -eu

log() { echo "firewall: $*"; }

if ! command -v firewall-cmd >/dev/null 2>&1 || ! firewall-cmd --state >/dev/null 2>&1; then
  log "firewalld is not running; skipped"
  exit 0
fi

# The zone of the interface carrying the host's address, else the default zone.
${zone}
changed=0
# ensure ZONE WHAT VALUE: add --WHAT=VALUE to the permanent ZONE unless it is there already.
ensure() {
  if firewall-cmd --permanent --zone="$1" --query-"$2"="$3" >/dev/null 2>&1; then
    return 0
  fi
  firewall-cmd --permanent --zone="$1" --add-"$2"="$3" >/dev/null
  log "zone $1: added $2 $3"
  changed=1
}

${calls.join('\n')}

if [ "$changed" = 1 ]; then
  firewall-cmd --reload >/dev/null
  log "reloaded"
else
  log "up to date"
fi`,
  );
}
