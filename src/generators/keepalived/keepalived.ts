// keepalived on the load-balancer hosts: /etc/keepalived/keepalived.conf (VRRP for the API virtual IP) and the
// health check it runs, /etc/keepalived/check_apiserver.sh. Fixes the runbook's versions of both (facts.md, first
// section): one MASTER with the highest priority instead of two BACKUPs at 100, `enable_script_security` (without it
// keepalived refuses the vrrp_script), the check probing the real VIP instead of 55.192.0.99, and a quoted auth_pass.
// Syntax is limited to what keepalived 2.1.5 (RHEL 8) reads; the tools tier checks every file with keepalived -t.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { parseCidr } from '../../spec/net.js';
import { osProfile } from '../../os/profiles.js';
import { VRRP_PASS } from '../../secrets/types.js';
import { hashMarker, lines, shellScript } from '../render/marker.js';
import { hostFile, type RenderInputs, type Generator, hostUnits, type HostUnit } from '../types.js';

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
export const CHECK_SCRIPT = '/etc/keepalived/check_apiserver.sh';
export const VRRP_INSTANCE = 'VI_1';
/** vrrp_script timing, as the kubeadm HA guide: demoted after 10 failures 3 s apart, restored after 2 successes. */
export const CHECK = { interval: 3, fall: 10, rise: 2 } as const;

/** Everything keepalived.conf and the check script say for one LB host, derived before any text is written. */
export interface KeepalivedHost {
  cluster: string;
  host: string;
  state: 'MASTER' | 'BACKUP';
  priority: number;
  /** negative: what a failing check subtracts from the priority */
  weight: number;
  interface: string;
  virtualRouterId: number;
  authPass: string;
  vip: string;
  /** prefix length of spec.network.hostSubnet, when known */
  vipPrefix: number | undefined;
  /** port haproxy listens on (the endpoint's port) */
  lbPort: number;
  unicast: { src: string; peers: string[] } | undefined;
  /** absolute path of arping, when gratuitous ARP on becoming MASTER is asked for */
  arping: string | undefined;
}

/**
 * The check's weight, so that a host whose check fails drops below EVERY healthy host. Priorities are distinct
 * (101, 100, 99, ...); a fixed weight -2 (the kubeadm HA guide's) does that for two hosts only: with three, a failing
 * MASTER at 101-2 = 99 ties the healthy third host at 99 and keepalived breaks the tie by IP address.
 * -(max-min+1) is -2 for two hosts, as in the guide.
 */
export function checkWeight(lbHosts: readonly HostView[]): number {
  const prios = lbHosts.map((h) => h.vrrp?.priority ?? 0);
  return -(Math.max(...prios) - Math.min(...prios) + 1);
}

export function keepalivedHost(view: ClusterView, host: HostView, inputs: RenderInputs): KeepalivedHost {
  const lb = view.cluster.spec.controlPlane.loadBalancer;
  if (!lb || !host.vrrp) throw new Error(`keepalived: ${host.name} is not a load-balancer host of a keepalived-haproxy cluster`);
  if (!host.interface) throw new Error(`keepalived: ${host.name} has no interface (validate the spec first)`);
  const authPass = inputs.secrets.passwords[lb.authPassRef];
  // Secrets are checked against the spec before rendering (checkSecretsForSpec); this guards callers that skipped it.
  // Never put the value into the message.
  if (authPass === undefined || !VRRP_PASS.test(authPass)) {
    throw new Error(`keepalived: passwords.${lb.authPassRef} is missing or not a valid VRRP auth_pass (1-8 characters)`);
  }
  const hostSubnet = view.cluster.spec.network.hostSubnet;
  return {
    cluster: view.name,
    host: host.name,
    state: host.vrrp.state,
    priority: host.vrrp.priority,
    weight: checkWeight(view.lbHosts),
    interface: host.interface,
    virtualRouterId: lb.virtualRouterId,
    authPass,
    vip: view.endpoint.host,
    vipPrefix: hostSubnet ? parseCidr(hostSubnet).bits : undefined,
    lbPort: view.endpoint.port,
    unicast: lb.unicast
      ? { src: host.address, peers: view.lbHosts.filter((h) => h.name !== host.name).map((h) => h.address) }
      : undefined,
    arping: lb.notifyArping ? osProfile(host.os).arping : undefined,
  };
}

const block = (head: string, body: string[], indent = '    '): string[] => [
  `${head} {`,
  ...body.map((l) => `${indent}${l}`),
  '}',
];

export function renderKeepalivedConf(k: KeepalivedHost): string {
  const vip = k.vipPrefix === undefined ? k.vip : `${k.vip}/${k.vipPrefix} dev ${k.interface}`;
  const instance = [
    `state ${k.state}`,
    `interface ${k.interface}`,
    `virtual_router_id ${k.virtualRouterId}`,
    `priority ${k.priority}`,
    // Quoted: unquoted, keepalived reads "!" or "#" as the start of a comment and "{" "}" as blocks (measured
    // with keepalived 2.2.7 -d: a bare a!b#c parses as "a"). Quotes and "\" are refused by the secrets check.
    ...block('authentication', ['auth_type PASS', `auth_pass "${k.authPass}"`]),
    ...(k.unicast ? [`unicast_src_ip ${k.unicast.src}`, ...block('unicast_peer', k.unicast.peers)] : []),
    ...block('virtual_ipaddress', [vip]),
    ...block('track_script', ['check_apiserver']),
    // keepalived itself sends gratuitous ARPs on becoming MASTER; this repeats them as the runbook wanted, with -U
    // (unsolicited: the VIP as sender, which updates neighbours' caches; the runbook's plain arping only asked who has
    // the VIP). Only on MASTER: a BACKUP or FAULT host announcing the VIP would pull traffic away from the MASTER.
    k.arping ? `notify_master "${k.arping} -U -c 3 -I ${k.interface} ${k.vip}"` : undefined,
  ].filter((l): l is string => l !== undefined);
  return lines(
    hashMarker(k.cluster).trimEnd(),
    `# VRRP for the Kubernetes API virtual IP ${k.vip} (haproxy on :${k.lbPort}); ${k.host} is ${k.state} at priority ${k.priority}.`,
    ...block('global_defs', [`router_id ${k.host}`, 'enable_script_security', 'script_user root']),
    '',
    `# Every ${CHECK.interval}s; after ${CHECK.fall} failures in a row the priority drops by ${-k.weight}, below every healthy peer.`,
    ...block('vrrp_script check_apiserver', [
      `script "${CHECK_SCRIPT}"`,
      `interval ${CHECK.interval}`,
      `weight ${k.weight}`,
      `fall ${CHECK.fall}`,
      `rise ${CHECK.rise}`,
    ]),
    '',
    ...block(`vrrp_instance ${VRRP_INSTANCE}`, instance),
  );
}

export function renderCheckScript(k: KeepalivedHost): string {
  return shellScript(
    k.cluster,
    lines(
      '# keepalived\'s vrrp_script check_apiserver: a non-zero exit counts as a failure.',
      '#',
      '# It probes haproxy on this host (the load-balancer port), not the local apiserver on its backend port: the VIP',
      '# belongs where haproxy reaches some healthy apiserver, and haproxy already takes a dead local apiserver out of',
      '# rotation. Probing the backend port would move the VIP whenever this host\'s apiserver restarts (upgrades,',
      '# certificate renewal) although its haproxy still serves, and would always fail on dedicated load-balancer hosts.',
      '',
      'errorExit() {',
      '    echo "*** $*" 1>&2',
      '    exit 1',
      '}',
      '',
      `APISERVER_VIP=${k.vip}`,
      `APISERVER_DEST_PORT=${k.lbPort}`,
      '',
      'curl -sfk --max-time 2 "https://localhost:${APISERVER_DEST_PORT}/healthz" -o /dev/null \\',
      '    || errorExit "Error GET https://localhost:${APISERVER_DEST_PORT}/healthz"',
      '# Only the host holding the VIP can test it. Anchored on " inet VIP/" so that a VIP ending in .1 never matches .10.',
      'if ip -o -4 addr show | grep -qF " inet ${APISERVER_VIP}/"; then',
      '    curl -sfk --max-time 2 "https://${APISERVER_VIP}:${APISERVER_DEST_PORT}/healthz" -o /dev/null \\',
      '        || errorExit "Error GET https://${APISERVER_VIP}:${APISERVER_DEST_PORT}/healthz"',
      'fi',
    ),
  );
}

/**
 * keepalived.conf and its check_apiserver.sh on each load-balancer host: the VIP, one MASTER with the highest priority,
 * distinct BACKUP priorities, script security on.
 */
export const keepalivedGenerator: Generator = {
  name: 'keepalived',
  units(view: ClusterView, inputs: RenderInputs): HostUnit[] {
    if (!view.managedLoadBalancer) return [];
    const files = view.lbHosts.flatMap((h) => {
      const k = keepalivedHost(view, h, inputs);
      return [
        hostFile('keepalived', h.name, KEEPALIVED_CONF, renderKeepalivedConf(k), { mode: 0o600, secret: true }),
        hostFile('keepalived', h.name, CHECK_SCRIPT, renderCheckScript(k), { mode: 0o755 }),
      ];
    });
    return hostUnits('keepalived', files, 'load-balancer', { services: ['keepalived'] });
  },
};
