// haproxy on the load-balancer hosts: /etc/haproxy/haproxy.cfg, a TCP proxy from the endpoint port to every control
// plane's apiserver, each checked with a real TLS GET /healthz. Two dialects, chosen by the haproxy the host's OS
// ships (src/os/profiles.ts):
//   1.8  (RHEL 8's 1.8.27):              `option httpchk GET /healthz` + `server ... check check-ssl verify none`
//   2.2+ (RHEL 9's 2.4, Debian 12's 2.6): `http-check connect ssl` + `http-check send meth GET uri /healthz`
// What the runbook got wrong (facts.md): `mode http` defaults with `option forwardfor` in a TCP proxy (a warning that
// `haproxy -c -dW` rejects), and `option ssl-hello-chk` beside `option httpchk`: the last one wins, so only a TLS
// hello was checked, never /healthz.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { osProfile, type HaproxyDialect } from '../../os/profiles.js';
import { hashMarker, lines } from '../render/marker.js';
import { hostFile, type Generator, hostUnits, type HostUnit } from '../types.js';

export const HAPROXY_CFG = '/etc/haproxy/haproxy.cfg';
/** Root-only admin socket for `show stat` / `show servers state`; the path RHEL's own haproxy.cfg (and SELinux policy) uses. */
export const STATS_SOCKET = '/var/lib/haproxy/stats';
export const HEALTH_PATH = '/healthz';

export type { HaproxyDialect };

export interface HaproxyBackend {
  name: string;
  address: string;
  port: number;
}

/** The /healthz check over TLS (certificate not verified: the point is the apiserver's answer, not its identity). */
export function healthCheckLines(dialect: HaproxyDialect): { backend: string[]; serverSuffix: string } {
  if (dialect === '1.8') {
    return {
      backend: [`option httpchk GET ${HEALTH_PATH}`, 'http-check expect status 200'],
      serverSuffix: 'check check-ssl verify none',
    };
  }
  return {
    backend: ['option httpchk', 'http-check connect ssl', `http-check send meth GET uri ${HEALTH_PATH}`, 'http-check expect status 200'],
    serverSuffix: 'check verify none',
  };
}

const section = (head: string, body: string[]): string[] => [head, ...body.map((l) => `    ${l}`)];

export function renderHaproxyCfg(view: ClusterView, host: HostView): string {
  const lb = view.cluster.spec.controlPlane.loadBalancer;
  if (!lb) throw new Error(`haproxy: ${view.name} has no load balancer`);
  const os = osProfile(host.os);
  const dialect = os.haproxy.dialect;
  const check = healthCheckLines(dialect);
  const backends: HaproxyBackend[] = view.controlPlanes.map((cp) => ({ name: cp.name, address: cp.address, port: lb.backendPort }));
  const width = Math.max(...backends.map((b) => b.name.length));
  return lines(
    hashMarker(view.name).trimEnd(),
    `# The Kubernetes API behind ${view.endpoint.host}:${view.endpoint.port}; haproxy ${dialect} (${os.displayName}${os.haproxy.version === dialect ? '' : `: ${os.haproxy.version}`}) syntax.`,
    ...section('global', [
      // /dev/log works on both OSes as long as haproxy is not chrooted (it is not); `log stdout` needs 1.9+.
      'log /dev/log local0',
      'log /dev/log local1 notice',
      'user haproxy',
      'group haproxy',
      // RHEL's shipped values; every node keeps several long-lived watch connections open.
      'maxconn 4000',
      '# root only; `show stat` shows each apiserver\'s last /healthz result',
      `stats socket ${STATS_SOCKET} mode 600 level admin`,
    ]),
    '',
    ...section('defaults', [
      'mode tcp',
      'log global',
      'option tcplog',
      'option dontlognull',
      'option redispatch',
      'retries 3',
      'maxconn 3000',
      'timeout connect 5s',
      'timeout client 20s',
      'timeout server 20s',
      // In TCP mode the tunnel timeout replaces client/server once a connection is established.
      '# watches, logs -f, exec and port-forward may idle for long: 20s alone (the kubeadm guide) would cut them',
      'timeout tunnel 1h',
      'timeout client-fin 10s',
      'timeout check 5s',
    ]),
    '',
    ...section('frontend apiserver', [`bind *:${view.endpoint.port}`, 'mode tcp', 'option tcplog', 'default_backend apiserver']),
    '',
    ...section('backend apiserver', [
      'mode tcp',
      'balance roundrobin',
      `# health: GET ${HEALTH_PATH} over TLS must answer 200; no other check option (a later one replaces httpchk)`,
      ...check.backend,
      '# DOWN after 3 failures 2s apart, UP after 2 successes; a DOWN server\'s connections are closed so clients reconnect',
      'default-server inter 2s fall 3 rise 2 on-marked-down shutdown-sessions',
      ...backends.map((b) => `server ${b.name.padEnd(width)} ${b.address}:${b.port} ${check.serverSuffix}`),
    ]),
  );
}

/**
 * haproxy.cfg on each load-balancer host: the endpoint port in TCP mode, every control plane behind it with a TLS
 * `/healthz` check, in the dialect of the host's haproxy version.
 */
export const haproxyGenerator: Generator = {
  name: 'haproxy',
  units(view: ClusterView): HostUnit[] {
    if (!view.managedLoadBalancer) return [];
    return hostUnits('haproxy', view.lbHosts.map((h) => hostFile('haproxy', h.name, HAPROXY_CFG, renderHaproxyCfg(view, h))), 'load-balancer', { services: ['haproxy'] });
  },
};
