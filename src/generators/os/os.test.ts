// The OS generators' files per host and role, and the firewall rules derived from the spec.
import { describe, expect, it } from 'vitest';
import { renderView } from '../index.js';
import { hostsGenerator } from '../hosts/hosts.js';
import { markerText } from '../render/marker.js';
import { deriveView, type ClusterView, type HostView } from '../../spec/derive.js';
import type { ClusterSpec } from '../../spec/schema.js';
import type { HostOs } from '../../os/profiles.js';
import { loadFixture, testInputs, validFixtureNames } from '../../../test/support/fixtures.js';
import { firewallGenerator, osGenerator } from './index.js';
import { FIREWALL_PATH, PROTO_IPIP, PROTO_VRRP, VRRP_MULTICAST, firewallRules, ruleArgs, type FirewallRule } from './firewall.js';
import { MODULES_LOAD_PATH, SYSCTL_PATH } from './kernel.js';
import { PREPARE_OS_PATH } from './prepare.js';

function view(name: string, edit?: (s: ClusterSpec) => void): ClusterView {
  const spec = loadFixture(name);
  edit?.(spec);
  return deriveView(spec);
}

function host(v: ClusterView, name: string): HostView {
  const h = v.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
}

function render(v: ClusterView) {
  return renderView(v, testInputs(), [osGenerator, firewallGenerator]);
}

/** Non-comment, non-blank lines. */
function content(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

const ports = (rules: FirewallRule[]) => rules.filter((r) => r.kind === 'port').map((r) => `${r.port}/${r.protocol}`);
const fromPeer = (rules: FirewallRule[]) => rules.filter((r): r is Extract<FirewallRule, { kind: 'from-peer' }> => r.kind === 'from-peer');

/** Stated here rather than read from the profiles: RHEL ships firewalld running and SELinux enforcing, Debian neither. */
const RHEL_LIKE: Record<HostOs, boolean> = { rhel8: true, rhel9: true, debian12: false };

describe.each(validFixtureNames())('os generators on fixture %s', (name) => {
  const v = view(name);
  const files = render(v);

  it('give each host the files its OS and roles call for, scripts executable', () => {
    for (const h of v.hosts) {
      const mine = new Map(files.filter((f) => f.kind === 'host' && f.host === h.name).map((f) => [f.path, f]));
      const kubeNode = h.isControlPlane || h.isWorker;
      expect(mine.has(MODULES_LOAD_PATH), `${h.name} modules-load`).toBe(kubeNode);
      expect(mine.has(SYSCTL_PATH), `${h.name} sysctl`).toBe(kubeNode);
      expect(mine.get(PREPARE_OS_PATH)?.mode, `${h.name} prepare-os.sh`).toBe(0o755);
      expect(mine.get(FIREWALL_PATH)?.mode, `${h.name} firewall.sh`).toBe(RHEL_LIKE[h.os] ? 0o755 : undefined);
      for (const f of mine.values()) expect(f.secret).toBe(false);
    }
  });

  it('start with the marker (after a shebang in scripts) and end with one newline', () => {
    for (const f of files) {
      const ls = f.content.split('\n');
      const first = ls[0]!.startsWith('#!') ? ls[1] : ls[0];
      expect(first, f.path).toBe(`# ${markerText(v.name)}`);
      expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), f.path).toBe(true);
    }
  });

  it('load the modules and check the sysctls that the config files declare (the script and the files agree)', () => {
    for (const h of v.hosts.filter((x) => x.isControlPlane || x.isWorker)) {
      const get = (p: string) => files.find((f) => f.kind === 'host' && f.host === h.name && f.path === p)!.content;
      const modules = content(get(MODULES_LOAD_PATH));
      expect(modules).toEqual(expect.arrayContaining(['overlay', 'br_netfilter']));
      const sysctls = Object.fromEntries(content(get(SYSCTL_PATH)).map((l) => l.split(/\s*=\s*/) as [string, string]));
      expect(sysctls).toMatchObject({
        'net.bridge.bridge-nf-call-iptables': '1',
        'net.bridge.bridge-nf-call-ip6tables': '1',
        'net.ipv4.ip_forward': '1',
      });
      const script = get(PREPARE_OS_PATH);
      for (const m of modules) expect(script).toContain(`elif modprobe ${m}; then`);
      for (const [k, val] of Object.entries(sysctls)) expect(script).toContain(`[ "$(sysctl -n ${k})" = ${val} ]`);
    }
  });

  it('turn SELinux permissive only on RHEL (8 and 9) and swap off only on Kubernetes nodes', () => {
    for (const h of v.hosts) {
      const script = files.find((f) => f.kind === 'host' && f.host === h.name && f.path === PREPARE_OS_PATH)!.content;
      expect(script.includes('setenforce 0'), h.name).toBe(RHEL_LIKE[h.os]);
      expect(script.includes('SELINUX=permissive'), h.name).toBe(RHEL_LIKE[h.os]);
      expect(script.includes('swapoff -a'), h.name).toBe(h.isControlPlane || h.isWorker);
      expect(script).toMatch(/^set -eu$/m);
    }
  });

  it('put in firewall.sh only addresses and networks from the spec (and the VRRP multicast group)', () => {
    const s = v.cluster.spec;
    const allowed = new Set([...s.hosts.map((h) => h.address), s.network.podSubnet, s.network.serviceSubnet, VRRP_MULTICAST, ...(s.network.hostSubnet ? [s.network.hostSubnet] : [])]);
    for (const f of files.filter((x) => x.path === FIREWALL_PATH)) {
      const found = [...f.content.matchAll(/\d+\.\d+\.\d+\.\d+(\/\d+)?/g)].map((m) => m[0]);
      expect(found.filter((a) => !allowed.has(a)), f.kind === 'host' ? f.host : '').toEqual([]);
    }
  });
});

describe('firewall rules', () => {
  const ha = view('runbook-ha');
  const ep = ha.cluster.spec.controlPlane.endpoint!;

  it('open the control-plane ports on control planes only and the LB port on load balancers only', () => {
    for (const h of ha.hosts) {
      const p = ports(firewallRules(ha, h));
      for (const cp of ['6443/tcp', '2379-2380/tcp', '10257/tcp', '10259/tcp']) expect(p.includes(cp), `${h.name} ${cp}`).toBe(h.isControlPlane);
      expect(p.includes(`${ep.port}/tcp`), h.name).toBe(h.isLoadBalancer);
      expect(p).toContain('10250/tcp');
    }
  });

  it('accept VRRP only from the other load balancers, to the multicast group', () => {
    for (const h of ha.lbHosts) {
      const vrrp = fromPeer(firewallRules(ha, h)).filter((r) => r.protocol === PROTO_VRRP);
      expect(vrrp.map((r) => r.source).sort()).toEqual(ha.lbHosts.filter((x) => x !== h).map((x) => x.address).sort());
      for (const r of vrrp) expect(r.destination).toBe(VRRP_MULTICAST);
    }
    for (const h of ha.hosts.filter((x) => !x.isLoadBalancer)) {
      expect(fromPeer(firewallRules(ha, h)).filter((r) => r.protocol === PROTO_VRRP)).toEqual([]);
    }
  });

  it('with unicast VRRP, accept it addressed to the host itself', () => {
    const u = view('unicast');
    for (const h of u.lbHosts) {
      const vrrp = fromPeer(firewallRules(u, h)).filter((r) => r.protocol === PROTO_VRRP);
      expect(vrrp).toHaveLength(u.lbHosts.length - 1);
      for (const r of vrrp) {
        expect(r.destination).toBe(h.address);
        expect(r.source).not.toBe(h.address);
      }
    }
  });

  it('render VRRP as a rich rule with the protocol number', () => {
    const r = fromPeer(firewallRules(ha, host(ha, 'master1'))).find((x) => x.protocol === PROTO_VRRP)!;
    expect(ruleArgs(r)).toEqual({
      zone: 'host',
      what: 'rich-rule',
      value: `rule family="ipv4" source address="${host(ha, 'master2').address}" destination address="${VRRP_MULTICAST}" protocol value="112" accept`,
    });
  });

  it('follow spec.network.nodePortRange, for TCP and UDP', () => {
    const v = view('runbook-single', (s) => {
      s.spec.network.nodePortRange = { from: 31000, to: 31999 };
    });
    const p = ports(firewallRules(v, host(v, 'node1')));
    expect(p).toEqual(expect.arrayContaining(['31000-31999/tcp', '31000-31999/udp']));
    expect(p.some((x) => x.startsWith('30000-'))).toBe(false);
  });

  it('follow the load balancer backend port for the apiserver', () => {
    const v = view('runbook-ha', (s) => {
      s.spec.controlPlane.loadBalancer!.backendPort = 7443;
    });
    const p = ports(firewallRules(v, host(v, 'master3')));
    expect(p).toContain('7443/tcp');
    expect(p).not.toContain('6443/tcp');
  });

  it('IPIP: BGP plus protocol 4 from the host subnet when known (one rule, however many nodes)', () => {
    const rules = firewallRules(ha, host(ha, 'gpu1'));
    expect(ports(rules)).toContain('179/tcp');
    expect(ports(rules)).not.toContain('4789/udp');
    const ipip = fromPeer(rules).filter((r) => r.protocol === PROTO_IPIP);
    expect(ipip.map((r) => r.source)).toEqual(['55.192.0.0/24']);
  });

  it('IPIP without a host subnet: protocol 4 from every other node', () => {
    const v = view('runbook-ha', (s) => {
      delete s.spec.network.hostSubnet;
    });
    const ipip = fromPeer(firewallRules(v, host(v, 'gpu1'))).filter((r) => r.protocol === PROTO_IPIP);
    expect(ipip.map((r) => r.source).sort()).toEqual(v.hosts.filter((x) => x.name !== 'gpu1').map((x) => x.address).sort());
  });

  it('VXLAN: 4789/udp from the host subnet, no BGP and no IPIP', () => {
    const v = view('runbook-ha', (s) => {
      s.spec.addons.cni.calico.encapsulation = 'VXLAN';
    });
    const rules = firewallRules(v, host(v, 'master3'));
    expect(ports(rules)).not.toContain('179/tcp');
    expect(fromPeer(rules).filter((r) => r.protocol === PROTO_IPIP)).toEqual([]);
    const vx = fromPeer(rules).filter((r) => r.port?.port === 4789 && r.port.protocol === 'udp');
    expect(vx.map((r) => r.source)).toEqual(['55.192.0.0/24']);
  });

  it('no encapsulation: BGP only; Typha only with the operator', () => {
    const none = view('runbook-ha', (s) => {
      s.spec.addons.cni.calico.encapsulation = 'None';
    });
    const rules = firewallRules(none, host(none, 'gpu1'));
    expect(ports(rules)).toContain('179/tcp');
    expect(fromPeer(rules)).toEqual([]);
    expect(ports(rules)).not.toContain('5473/tcp');
    const op = view('private-registry');
    expect(op.cluster.spec.addons.cni.calico.mode).toBe('operator');
    expect(ports(firewallRules(op, host(op, 'gpu1')))).toContain('5473/tcp');
  });

  it('trust the pod and Service networks on Kubernetes nodes, nothing on load-balancer-only hosts', () => {
    const v = view('debian12');
    const s = v.cluster.spec;
    const trusted = (h: HostView) => firewallRules(v, h).filter((r) => r.kind === 'trusted-source').map((r) => ruleArgs(r).value);
    expect(trusted(host(v, 'w1'))).toEqual([s.network.podSubnet, s.network.serviceSubnet]);
    expect(trusted(host(v, 'lb1'))).toEqual([]);
    expect(ports(firewallRules(v, host(v, 'lb1')))).toEqual([`${s.controlPlane.endpoint!.port}/tcp`]);
  });

  it('never list the same rule twice', () => {
    for (const name of validFixtureNames()) {
      const v = view(name);
      for (const h of v.hosts) {
        const keys = firewallRules(v, h).map((r) => JSON.stringify(ruleArgs(r)));
        expect(new Set(keys).size, `${name}/${h.name}`).toBe(keys.length);
      }
    }
  });
});

describe('hosts fragment and prepare-os.sh', () => {
  it('the script merges the fragment path the hosts generator writes', () => {
    const v = view('runbook-ha');
    const frag = renderView(v, testInputs(), [hostsGenerator]).find((f) => f.path.startsWith('/etc/hosts.d/'))!;
    const script = render(v).find((f) => f.path === PREPARE_OS_PATH)!.content;
    expect(script).toContain(`frag="$ROOT${frag.path}"`);
  });
});
