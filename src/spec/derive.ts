// A view derived from a valid spec: defaults resolved, cross-references made explicit, order fixed. Generators and
// the planner read this, never the raw spec, so every rule ("first control plane", "which LB host is MASTER") lives
// in exactly one place.
import type { ClusterSpec, HostSpec } from './schema.js';

/** A load-balancer host's keepalived role: MASTER or BACKUP, and its priority. */
export interface VrrpRole {
  state: 'MASTER' | 'BACKUP';
  priority: number;
}

/** A host as the generators read it: its spec, its roles as flags, its effective SSH settings and its VRRP role. */
export interface HostView {
  spec: HostSpec;
  name: string;
  address: string;
  os: HostSpec['os'];
  /** interface carrying the address: declared, or the one the other LB hosts declare */
  interface: string | undefined;
  isControlPlane: boolean;
  isWorker: boolean;
  isLoadBalancer: boolean;
  isGpu: boolean;
  /** the control plane that runs kubeadm init */
  isFirstControlPlane: boolean;
  ssh: { user: string; port: number; privateKeyRef: string; hostKeyFingerprint?: string | undefined };
  vrrp?: VrrpRole;
}

/**
 * A validated spec as the generators read it: hosts by role, the first control plane, the endpoint, the registry and
 * the version, with every default and cross-reference resolved.
 */
export interface ClusterView {
  cluster: ClusterSpec;
  name: string;
  hosts: HostView[];
  controlPlanes: HostView[];
  workers: HostView[];
  gpuHosts: HostView[];
  lbHosts: HostView[];
  firstControlPlane: HostView;
  endpoint: { host: string; port: number };
  /** haproxy+keepalived on the LB hosts */
  managedLoadBalancer: boolean;
  registry: string;
  kubernetesVersion: string;
}

/** VRRP priorities: the first LB host is MASTER at 101, the others BACKUP at 100, 99, ... (distinct, as the kubeadm
 * HA guide's 101/100 pair generalised); weight -2 on a failing check drops the MASTER below the next BACKUP. */
export const VRRP_MASTER_PRIORITY = 101;

/** The view of a validated spec (throws on a spec without a control plane: validate first). */
export function deriveView(cluster: ClusterSpec): ClusterView {
  const s = cluster.spec;
  const lbInterfaces = [...new Set(s.hosts.filter((h) => h.roles.includes('load-balancer') && h.interface).map((h) => h.interface!))];
  const firstCp = s.hosts.find((h) => h.roles.includes('control-plane'));
  if (!firstCp) throw new Error('deriveView: spec has no control plane (validate first)');
  let lbOrdinal = 0;
  const hosts: HostView[] = s.hosts.map((h) => {
    const isLoadBalancer = h.roles.includes('load-balancer');
    const view: HostView = {
      spec: h,
      name: h.name,
      address: h.address,
      os: h.os,
      interface: h.interface ?? (isLoadBalancer && lbInterfaces.length === 1 ? lbInterfaces[0] : undefined),
      isControlPlane: h.roles.includes('control-plane'),
      isWorker: h.roles.includes('worker'),
      isLoadBalancer,
      isGpu: !!h.gpu,
      isFirstControlPlane: h === firstCp,
      ssh: {
        user: h.ssh?.user ?? s.ssh.user,
        port: h.ssh?.port ?? s.ssh.port,
        privateKeyRef: h.ssh?.privateKeyRef ?? s.ssh.privateKeyRef,
        hostKeyFingerprint: h.ssh?.hostKeyFingerprint ?? s.ssh.hostKeyFingerprint,
      },
    };
    if (isLoadBalancer) {
      view.vrrp = { state: lbOrdinal === 0 ? 'MASTER' : 'BACKUP', priority: VRRP_MASTER_PRIORITY - lbOrdinal };
      lbOrdinal++;
    }
    return view;
  });
  const managedLoadBalancer = s.controlPlane.loadBalancer?.mode === 'keepalived-haproxy';
  const first = hosts.find((h) => h.isFirstControlPlane)!;
  const endpoint = s.controlPlane.endpoint ?? { host: first.address, port: 6443 };
  return {
    cluster,
    name: cluster.metadata.name,
    hosts,
    controlPlanes: hosts.filter((h) => h.isControlPlane),
    workers: hosts.filter((h) => h.isWorker),
    gpuHosts: hosts.filter((h) => h.isGpu),
    lbHosts: managedLoadBalancer ? hosts.filter((h) => h.isLoadBalancer) : [],
    firstControlPlane: first,
    endpoint,
    managedLoadBalancer,
    registry: s.offline.registry,
    kubernetesVersion: s.kubernetesVersion,
  };
}
