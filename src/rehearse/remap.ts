// Pure address arithmetic for the dress rehearsal: the host subnet a spec lives in, moving a spec into another
// subnet (`airgap-k8s rehearse --subnet CIDR`), the docker network's gateway, and what a host of another OS becomes
// on a Debian 12 node (its OS profile's `rehearsal.as`). No I/O; the CLI re-validates whatever these return with parseSpec.
import type { ClusterSpec } from '../spec/schema.js';
import type { ClusterView } from '../spec/derive.js';
import { cidrContains, ipToInt, parseCidr } from '../spec/net.js';
import { osProfile } from '../os/profiles.js';

/** One address (or subnet) moved by remapSpec. */
export interface AddressMove {
  /** the host name, `endpoint` (the VIP), `hostSubnet`, `calico.ipAutodetection` or `offline.registry` */
  host: string;
  from: string;
  to: string;
}

/** Bad input for remapSpec (a CIDR that is not one, addresses that do not fit): the CLI's exit 2. */
export class RemapError extends Error {
  override name = 'RemapError';
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An IPv4 CIDR with no host bits, /8 to /30; throws RemapError naming what is wrong. */
export function checkCidr(cidr: string, what = 'subnet'): void {
  const m = CIDR.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new RemapError(`${what} ${JSON.stringify(cidr)} is not an IPv4 CIDR such as 10.251.0.0/24`);
  }
  const bits = Number(m[5]);
  if (bits < 8 || bits > 30) throw new RemapError(`${what} ${cidr}: the prefix must be /8 to /30`);
  const c = parseCidr(cidr);
  if (c.base !== c.first) throw new RemapError(`${what} ${cidr} has host bits set: did you mean ${intToIp(c.first)}/${bits}?`);
}

const specOf = (x: ClusterSpec | ClusterView): ClusterSpec => ('cluster' in x ? x.cluster : x);

/** Every address a node or the VIP takes: hosts in spec order, then the endpoint when it is not a host's. */
export function nodeAddresses(x: ClusterSpec | ClusterView): { hosts: string[]; vip: string | undefined } {
  const s = specOf(x).spec;
  const hosts = s.hosts.map((h) => h.address);
  const ep = s.controlPlane.endpoint?.host;
  return { hosts, vip: ep !== undefined && !hosts.includes(ep) ? ep : undefined };
}

/**
 * The subnet the hosts live in: spec.network.hostSubnet, or (when the spec does not say) the smallest network of
 * at least /24 holding every host address and the VIP.
 */
export function hostSubnetOf(x: ClusterSpec | ClusterView): string {
  const s = specOf(x).spec;
  if (s.network.hostSubnet) return s.network.hostSubnet;
  const { hosts, vip } = nodeAddresses(x);
  const all = [...hosts, ...(vip ? [vip] : [])].map(ipToInt);
  for (let bits = 24; bits >= 8; bits--) {
    const mask = (0xffffffff << (32 - bits)) >>> 0;
    const first = (all[0]! & mask) >>> 0;
    if (all.every((a) => ((a & mask) >>> 0) === first)) {
      const last = (first | (~mask >>> 0)) >>> 0;
      if (all.every((a) => a !== first && a !== last)) return `${intToIp(first)}/${bits}`;
    }
  }
  throw new RemapError('the hosts and the VIP share no subnet of /8 or smaller: set spec.network.hostSubnet');
}

/**
 * The docker network's gateway (the address this machine takes on the bridge): .1 of the subnet when no host and no
 * VIP uses it, else the last usable address, else the first free one.
 */
export function gatewayFor(subnet: string, taken: readonly string[]): string {
  const c = parseCidr(subnet);
  const used = new Set(taken.map(ipToInt));
  if (!used.has(c.first + 1)) return intToIp(c.first + 1);
  if (!used.has(c.last - 1)) return intToIp(c.last - 1);
  for (let a = c.first + 2; a < c.last - 1; a++) if (!used.has(a)) return intToIp(a);
  throw new RemapError(`${subnet}: every address is taken by a host or the VIP; no room for the network's gateway`);
}

/**
 * The spec moved into `subnet`: every host address, the VIP and hostSubnet keep their offset in the host subnet
 * (10.250.0.11 in 10.250.0.0/24 becomes 10.251.0.11 in 10.251.0.0/24); Calico's `can-reach=`/`cidr=`
 * autodetection and an `offline.registry` host inside the old subnet move with them. Pure: the input is not
 * changed. Throws RemapError when `subnet` is not a CIDR or an address would fall outside it (or on its network or
 * broadcast address). Re-validate the result (parseSpec): a new host subnet may overlap the pod or service subnet.
 */
export function remapSpec(x: ClusterSpec | ClusterView, subnet: string): { spec: ClusterSpec; mapping: AddressMove[] } {
  checkCidr(subnet, '--subnet');
  const spec = structuredClone(specOf(x));
  const s = spec.spec;
  const from = hostSubnetOf(spec);
  const oldNet = parseCidr(from);
  const newNet = parseCidr(subnet);
  const mapping: AddressMove[] = [];
  const move = (ip: string, who: string): string => {
    const offset = ipToInt(ip) - oldNet.first;
    const to = newNet.first + offset;
    if (offset < 0 || ipToInt(ip) > oldNet.last) throw new RemapError(`${who} ${ip} is outside the host subnet ${from}`);
    if (to <= newNet.first || to >= newNet.last) {
      throw new RemapError(`${who} ${ip} is offset ${offset} in ${from}; ${subnet} has no usable address at that offset (use a larger subnet)`);
    }
    return intToIp(to);
  };
  const moveAll = (ip: string, who: string): string => {
    const to = move(ip, who);
    mapping.push({ host: who, from: ip, to });
    return to;
  };

  const hostAddresses = new Set(s.hosts.map((h) => h.address));
  for (const h of s.hosts) h.address = moveAll(h.address, h.name);
  const ep = s.controlPlane.endpoint;
  // an endpoint that is a host's address moves with that host (listed once, under the host)
  if (ep) ep.host = hostAddresses.has(ep.host) ? move(ep.host, 'endpoint') : moveAll(ep.host, 'endpoint');
  mapping.push({ host: 'hostSubnet', from, to: subnet });
  s.network.hostSubnet = subnet;

  const calico = s.addons.cni.calico;
  if (calico.ipAutodetection) {
    const [method, value = ''] = calico.ipAutodetection.split(/=(.*)/s) as [string, string?];
    let moved: string | undefined;
    if (method === 'can-reach' && /^\d+\.\d+\.\d+\.\d+$/.test(value) && cidrContains(from, value)) {
      moved = `can-reach=${move(value, 'calico.ipAutodetection')}`;
    } else if (method === 'cidr') {
      // each CIDR inside the old host subnet moves with it (the host subnet itself becomes the new one)
      moved = `cidr=${value
        .split(',')
        .map((p) => {
          const m = CIDR.exec(p);
          if (!m || Number(m[5]) < oldNet.bits || !cidrContains(from, p.split('/')[0]!)) return p;
          return Number(m[5]) === oldNet.bits ? subnet : `${move(p.split('/')[0]!, 'calico.ipAutodetection')}/${m[5]}`;
        })
        .join(',')}`;
    }
    if (moved && moved !== calico.ipAutodetection) {
      mapping.push({ host: 'calico.ipAutodetection', from: calico.ipAutodetection, to: moved });
      calico.ipAutodetection = moved;
    }
  }

  const reg = /^(\d+\.\d+\.\d+\.\d+)(.*)$/.exec(s.offline.registry);
  if (reg && cidrContains(from, reg[1]!)) {
    const to = `${move(reg[1]!, 'offline.registry')}${reg[2]}`;
    mapping.push({ host: 'offline.registry', from: s.offline.registry, to });
    s.offline.registry = to;
  }
  return { spec, mapping };
}

/**
 * The spec with every host turned into the OS it is rehearsed as (the nodes are Debian 12 containers: the plan's
 * preflight checks /etc/os-release and the packages come from packages/<os>). Pure; returns the hosts it changed.
 * What each change leaves unchecked is the profile's `rehearsal.unchecked`, which the CLI prints.
 */
export function asDebianNodes(x: ClusterSpec | ClusterView): { spec: ClusterSpec; changed: string[] } {
  const spec = structuredClone(specOf(x));
  const changed: string[] = [];
  for (const h of spec.spec.hosts) {
    const as = osProfile(h.os).rehearsal.as;
    if (as !== h.os) {
      h.os = as;
      changed.push(h.name);
    }
  }
  return { spec, changed };
}
