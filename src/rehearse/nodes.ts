// Node containers for a spec: the dress rehearsal's machines (`airgap-k8s rehearse`). Each spec host becomes one
// privileged systemd container of a bare Debian 12 host image, on one docker bridge network per run that has the
// spec's host subnet, holding the spec's address on the spec's interface name, labelled so that the kind executor
// (src/executors/kind/kind.ts) finds it: airgap-k8s.node.host=<host>, airgap-k8s.node.cluster=<metadata.name>.
//
//   const nodes = await createNodes(view, { image: 'airgap-k8s/testbed-host:latest', log: console.log });
//   try { /* apply the plan with the kind executor */ } finally { await nodes.destroy(); }
//
// Everything goes through the Docker Engine API with testcontainers' dockerode (the kind executor's client: Ryuk
// off, nothing pulled); commands inside the nodes run through the kind executor. The only local commands are
// iptables (the DOCKER-USER rule below).
//
// The container recipe was measured for kubeadm + containerd in a node (../shared/reference/test-infra.md,
// "Kubernetes in a host container"): --privileged (through the runc wrapper scripts/testbed/setup.sh makes the
// default runtime), a private cgroup namespace (systemd's paths nest wrongly in the machine's), tmpfs on /run,
// /run/lock and /tmp, an anonymous volume on /var/lib/containerd (overlayfs cannot hold containerd's overlay
// snapshots; removed with the container), SIGRTMIN+3 to stop systemd, container=docker.
//
// Network: --internal by default (docker drops whatever would leave the subnet: an install that reaches for the
// internet fails). Docker's isolation rules then also drop VRRP's multicast to 224.0.0.18, so a rule in iptables'
// DOCKER-USER chain (evaluated first) accepts traffic that enters and leaves the run's own bridge, exactly as the
// test bed does (test/testbed/testbed.ts); it is removed with the network. Before returning, the nodes are checked
// the way the install needs them: this machine reaches every node address and the VIP (held for the check by the
// VRRP MASTER-to-be), and UDP 4789 (Calico VXLAN) passes from node to node.
//
// Leftovers: containers, network and rule carry the run id and the owning process (id and machine); they are
// removed on destroy(), on failure, synchronously on process exit (best effort), and by sweepRehearsals() once
// their owner is gone. A run created with `keep` is left to its user (sweepRehearsals({ runId }) removes it).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname as machineName } from 'node:os';
import type Dockerode from 'dockerode';
import type { ClusterView } from '../spec/derive.js';
import { cidrsOverlap, cidrContains } from '../spec/net.js';
import { KindExecutor, NODE_CLUSTER_LABEL, NODE_HOST_LABEL } from '../executors/kind/kind.js';
import { dockerClient } from '../executors/kind/docker.js';
import { LocalExecutor } from '../executors/local/local.js';
import { prettyCommand, tail, type RunResult } from '../executors/executor.js';
import { gatewayFor, hostSubnetOf, intToIp, nodeAddresses } from './remap.js';

export { remapSpec, asDebianNodes, hostSubnetOf, gatewayFor, RemapError, type AddressMove } from './remap.js';

export const REHEARSAL_LABEL = 'airgap-k8s.rehearsal';
const LABEL_PID = `${REHEARSAL_LABEL}.owner-pid`;
const LABEL_MACHINE = `${REHEARSAL_LABEL}.owner-machine`;
const LABEL_KEEP = `${REHEARSAL_LABEL}.keep`;
/** what scripts/testbed/setup.sh builds: Debian 12, systemd as PID 1 */
export const DEFAULT_NODE_IMAGE = 'airgap-k8s/testbed-host:latest';

export interface RehearsalNode {
  host: string;
  address: string;
  /** the spec's interface name (eth0 renamed when the spec names another) */
  interface: string;
  containerId: string;
  containerName: string;
}

export interface RehearsalNodes {
  runId: string;
  network: { name: string; subnet: string; gateway: string; internal: boolean };
  nodes: RehearsalNode[];
  /** the VIP (spec.controlPlane.endpoint.host) when it is not a host's address */
  vip: string | undefined;
  /** remove containers (and their anonymous volumes), the network and the DOCKER-USER rule; safe twice; collects failures */
  destroy(): Promise<void>;
  /** what may make the install fail for reasons of this machine (shown again in the report) */
  warnings: string[];
  /** leave everything in place when this process exits (`--keep`): no exit-time removal */
  detach(): void;
}

export interface CreateNodesOptions {
  /** the bare Debian 12 host image; never pulled (a clear error when absent) */
  image: string;
  /** default true: docker network --internal (no route out) */
  internal?: boolean;
  /** per node, from start to systemd running or degraded; default 180 s */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** label the run as kept: sweepRehearsals() leaves it alone until asked for its run id */
  keep?: boolean;
}

/**
 * The nodes could not be made for a reason of input, not of failure: the image is not there, the subnet clashes with
 * this machine's networks. Nothing was created. The CLI's exit 2.
 */
export class NodesInputError extends Error {
  override name = 'NodesInputError';
}

type DockerError = Error & { statusCode?: number; json?: { message?: string } | null };
const why = (e: unknown) => ((e as DockerError).json?.message ?? (e as Error).message ?? String(e)).trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function docker(): Promise<Dockerode> {
  try {
    return await dockerClient();
  } catch (e) {
    throw new Error(`no docker daemon answers (testcontainers: ${(e as Error).message})`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// this machine: subnets in use, the DOCKER-USER rule

/** Subnets in use here: every docker network's and every route of this machine but the default one. */
async function usedSubnets(d: Dockerode): Promise<{ subnet: string; what: string }[]> {
  const used: { subnet: string; what: string }[] = [];
  for (const n of await d.listNetworks()) {
    for (const c of n.IPAM?.Config ?? []) {
      const s = (c as { Subnet?: string }).Subnet;
      if (s && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)) used.push({ subnet: s, what: `docker network ${n.Name}` });
    }
  }
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[1] === '00000000') continue; // the default route overlaps everything
      const le = (hex: string) => intToIp(Number.parseInt(hex.match(/../g)!.reverse().join(''), 16) >>> 0);
      const mask = Number.parseInt(f[7]!.match(/../g)!.reverse().join(''), 16) >>> 0;
      const bits = mask === 0 ? 0 : 32 - Math.log2((~mask >>> 0) + 1);
      used.push({ subnet: `${le(f[1]!)}/${bits}`, what: `this machine's route on ${f[0]}` });
    }
  } catch {
    // no /proc/net/route: docker's own overlap check still applies
  }
  return used;
}

/** Accepts traffic that enters and leaves the run's bridge (VRRP multicast on an --internal network; file header). */
function intraBridgeRule(bridge: string, runId: string): string[] {
  return ['-i', bridge, '-o', bridge, '-m', 'comment', '--comment', `${REHEARSAL_LABEL}=${runId}`, '-j', 'ACCEPT'];
}

/** The rehearsal rules in `iptables -S DOCKER-USER` output (the comment may be quoted). */
export function parseRehearsalRules(listing: string): { bridge: string; runId: string }[] {
  const found: { bridge: string; runId: string }[] = [];
  const comment = new RegExp(`--comment "?${REHEARSAL_LABEL.replace(/\./g, '\\.')}=([^"\\s]+)"?`);
  for (const line of listing.split('\n')) {
    const c = line.match(comment);
    const i = line.match(/^-A DOCKER-USER -i (\S+) -o (\S+) /);
    if (c && i && i[1] === i[2]) found.push({ bridge: i[1]!, runId: c[1]! });
  }
  return found;
}

const local = new LocalExecutor({ host: 'localhost' });

async function iptables(args: string[]): Promise<RunResult> {
  try {
    return await local.run(['iptables', '-w', '10', ...args], { allowFailure: true, timeoutMs: 30_000 });
  } catch (e) {
    return { exitCode: 127, signal: null, stdout: '', stderr: (e as Error).message, timedOut: false, durationMs: 0 };
  }
}

/**
 * inotify instances per node, measured on a control plane of the rehearsal spec with kubeadm's static pods and
 * kube-proxy running (systemd, journald, containerd, kubelet's cAdvisor and CA watchers, ...): 29.
 */
export const INOTIFY_PER_NODE = 32;

/**
 * fs.inotify.max_user_instances is counted per user across the whole machine, and every node's root is this
 * machine's root: the nodes (and every other container) share one budget, 128 by default. When it runs out, kubelet
 * crash-loops ("Failed to start cAdvisor: inotify_init: too many open files") and a node's systemd may not even
 * boot. Returns a warning when the headroom looks too small for `nodes` more nodes; undefined otherwise.
 */
export function inotifyWarning(nodes: number): string | undefined {
  let max: number;
  try {
    max = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim());
  } catch {
    return undefined;
  }
  let used = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!/^Uid:\s+0\s/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') used++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process ended, or its fds are not ours to read
    }
  }
  const need = nodes * INOTIFY_PER_NODE;
  if (max - used >= need) return undefined;
  return (
    `this machine allows ${max} inotify instances per user (fs.inotify.max_user_instances, shared by every container's ` +
    `root) and about ${used} are in use; ${nodes} nodes need about ${need}. When they run out, kubelet crash-loops ` +
    `("inotify_init: too many open files") and joins time out. Raise it as kind documents: ` +
    `sysctl -w fs.inotify.max_user_instances=512`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// leftovers

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes rehearsal containers, networks and DOCKER-USER rules whose owning process (on this machine) is gone,
 * except runs made with `keep`; with `runId`, exactly that run (kept or not, owner alive or not). Returns what it
 * removed. Never touches anything without the rehearsal label.
 */
export async function sweepRehearsals(opts: { runId?: string } = {}): Promise<{ containers: string[]; networks: string[]; rules: string[] }> {
  const d = await docker();
  const pick = (labels: Record<string, string> | undefined): boolean => {
    const l = labels ?? {};
    if (opts.runId !== undefined) return l[REHEARSAL_LABEL] === opts.runId;
    if (l[LABEL_KEEP] === 'true') return false;
    const pid = Number(l[LABEL_PID]);
    return l[LABEL_MACHINE] === machineName() && Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
  };
  const containers = (await d.listContainers({ all: true, filters: { label: [REHEARSAL_LABEL] } })).filter((c) => pick(c.Labels));
  await Promise.all(containers.map((c) => d.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  const networks = (await d.listNetworks({ filters: { label: [REHEARSAL_LABEL] } })).filter((n) => pick(n.Labels));
  for (const n of networks) await d.getNetwork(n.Id).remove().catch(() => undefined);
  // rules whose network is gone (whoever made them)
  const live = new Set((await d.listNetworks({ filters: { label: [REHEARSAL_LABEL] } })).map((n) => n.Labels?.[REHEARSAL_LABEL]));
  const rules: string[] = [];
  const listing = await iptables(['-S', 'DOCKER-USER']);
  for (const r of listing.exitCode === 0 ? parseRehearsalRules(listing.stdout) : []) {
    if (live.has(r.runId) && r.runId !== opts.runId) continue;
    if ((await iptables(['-D', 'DOCKER-USER', ...intraBridgeRule(r.bridge, r.runId)])).exitCode === 0) rules.push(`${r.bridge} (${r.runId})`);
  }
  return {
    containers: containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')),
    networks: networks.map((n) => n.Name),
    rules,
  };
}

/**
 * Synchronous best-effort removal at process exit: a child node process talks to the same Docker Engine endpoint
 * (the docker CLI may not be installed where the engine is reachable; dockerode has no synchronous calls).
 */
const SYNC_CLEANUP = `
const http = require('node:http');
const a = JSON.parse(process.argv[1]);
const req = (method, path) => new Promise((resolve) => {
  const r = http.request({ ...a.endpoint, method, path, timeout: 30000 }, (res) => {
    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body));
  });
  r.on('error', () => resolve('')); r.on('timeout', () => { r.destroy(); resolve(''); }); r.end();
});
(async () => {
  const filters = encodeURIComponent(JSON.stringify({ label: [a.label] }));
  let ids = a.containers;
  try { ids = [...new Set([...ids, ...JSON.parse(await req('GET', '/containers/json?all=1&filters=' + filters)).map((c) => c.Id)])]; } catch {}
  await Promise.all(ids.map((id) => req('DELETE', '/containers/' + id + '?force=1&v=1')));
  if (a.network) await req('DELETE', '/networks/' + a.network);
})();
`;

function endpointOf(d: Dockerode): { socketPath: string } | { host: string; port: number } | undefined {
  const m = (d as unknown as { modem?: { socketPath?: string; host?: string; port?: number | string; protocol?: string } }).modem;
  if (m?.socketPath) return { socketPath: m.socketPath };
  if (m?.host && m.protocol !== 'https') return { host: m.host, port: Number(m.port ?? 2375) };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// creating the nodes

/** Docker's multiplexed log stream (no TTY) as text. */
function demuxLogs(buf: Buffer): string {
  let out = '';
  let o = 0;
  while (buf.length - o >= 8 && (buf[o] === 1 || buf[o] === 2) && buf[o + 1] === 0) {
    const size = buf.readUInt32BE(o + 4);
    out += buf.subarray(o + 8, o + 8 + size).toString('utf8');
    o += 8 + size;
  }
  return o === 0 ? buf.toString('utf8') : out;
}

/** TCP to a closed port: a refusal (RST) proves the address answers; a timeout or unreachable does not. */
function answers(address: string, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port: 9 });
    const done = (r: string | undefined) => {
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    s.on('connect', () => done(undefined));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? undefined : `${e.code ?? e.message}`));
  });
}

const UDP_LISTEN = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 4789))
s.settimeout(float(sys.argv[2]))
d, a = s.recvfrom(64)
s.sendto(b"ack", a)
print(a[0])`;
const UDP_SEND = `import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s.sendto(b"airgap-k8s", (sys.argv[1], 4789))
    try:
        d, a = s.recvfrom(64)
        if d == b"ack":
            sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)`;

/** eth0 -> the spec's name inside the node: link down, rename, up; routes the kernel dropped are put back. */
const RENAME = `set -e
old=$1 new=$2
routes=$(ip -4 route show dev "$old" | sed 's/ linkdown//')
ip link set dev "$old" down
ip link set dev "$old" name "$new"
ip link set dev "$new" up
now=$(ip -4 route show dev "$new" | sed 's/ linkdown//')
printf '%s\\n' "$routes" | while IFS= read -r r; do
  [ -n "$r" ] || continue
  printf '%s\\n' "$now" | grep -qxF -- "$r" || ip route replace $r dev "$new"
done`;

export async function createNodes(view: ClusterView, opts: CreateNodesOptions): Promise<RehearsalNodes> {
  const log = opts.log ?? (() => {});
  const internal = opts.internal ?? true;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  const signal = opts.signal;
  signal?.throwIfAborted();
  const d = await docker();

  // --- inputs: the image (never pulled), the subnet (free on this machine)
  try {
    await d.getImage(opts.image).inspect();
  } catch (e) {
    if ((e as DockerError).statusCode === 404) {
      throw new NodesInputError(
        `image ${opts.image} is not in the local docker and is never pulled: build the bare Debian 12 host image with ` +
          '`npm run testbed:setup` (scripts/testbed/setup.sh, as root) or name a local one with --image',
      );
    }
    throw new Error(`docker could not inspect image ${opts.image}: ${why(e)}`, { cause: e });
  }
  const swept = await sweepRehearsals().catch(() => undefined);
  if (swept && swept.containers.length + swept.networks.length + swept.rules.length > 0) {
    log(`swept leftovers of dead rehearsals: ${[...swept.containers, ...swept.networks].join(', ') || '-'}${swept.rules.length ? `; rules ${swept.rules.join(', ')}` : ''}`);
  }
  const subnet = hostSubnetOf(view);
  const { vip } = nodeAddresses(view);
  for (const h of view.hosts) if (!cidrContains(subnet, h.address)) throw new NodesInputError(`${h.name}: ${h.address} is not in the host subnet ${subnet}`);
  const clash = (await usedSubnets(d)).filter((u) => cidrsOverlap(u.subnet, subnet));
  if (clash.length > 0) {
    throw new NodesInputError(
      `the spec's host subnet ${subnet} overlaps ${clash.map((c) => `${c.what} (${c.subnet})`).join(', ')}; ` +
        'rehearse in another subnet with --subnet CIDR (every address keeps its offset)',
    );
  }
  const gateway = gatewayFor(subnet, [...view.hosts.map((h) => h.address), ...(vip ? [vip] : [])]);
  const warnings: string[] = [];
  const inotify = inotifyWarning(view.hosts.length);
  if (inotify) {
    warnings.push(inotify);
    log(`WARNING: ${inotify}`);
  }

  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  // the run id always survives: container names stay unique however long the cluster's name
  const prefix = `airgap-k8s-rh-${view.name.slice(0, 24).replace(/-$/, '')}-${runId}`;
  const labels: Record<string, string> = {
    [REHEARSAL_LABEL]: runId,
    [LABEL_PID]: String(process.pid),
    [LABEL_MACHINE]: machineName(),
    ...(opts.keep ? { [LABEL_KEEP]: 'true' } : {}),
  };

  // From here on everything made is removed again on failure, on destroy() and (synchronously) on process exit.
  const containerIds: string[] = [];
  let networkId: string | undefined;
  let rule: string[] | undefined;
  let destroyed = false;
  let detached = false;
  const endpoint = endpointOf(d);
  const cleanupSync = () => {
    if (destroyed || detached) return;
    destroyed = true;
    if (endpoint) {
      const arg = JSON.stringify({ endpoint, label: `${REHEARSAL_LABEL}=${runId}`, containers: containerIds, network: networkId });
      spawnSync(process.execPath, ['-e', SYNC_CLEANUP, arg], { stdio: 'ignore', timeout: 90_000 });
    }
    if (rule) spawnSync('iptables', ['-w', '10', '-D', 'DOCKER-USER', ...rule], { stdio: 'ignore', timeout: 30_000 });
  };
  process.on('exit', cleanupSync);

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', cleanupSync);
    const failures: string[] = [];
    // by label as well as by id: a container whose creation failed half-way has no id recorded
    let ids = [...containerIds];
    try {
      ids = [...new Set([...ids, ...(await d.listContainers({ all: true, filters: { label: [`${REHEARSAL_LABEL}=${runId}`] } })).map((c) => c.Id)])];
    } catch (e) {
      failures.push(`listing the run's containers: ${why(e)}`);
    }
    const removed = await Promise.allSettled(ids.map((id) => d.getContainer(id).remove({ force: true, v: true })));
    removed.forEach((r, i) => {
      // 404: gone already; 409 "removal ... already in progress": someone else is removing it
      if (r.status === 'rejected' && (r.reason as DockerError).statusCode !== 404 && !/already in progress/i.test(why(r.reason))) failures.push(`removing container ${ids[i]!.slice(0, 12)}: ${why(r.reason)}`);
    });
    if (networkId) {
      try {
        await d.getNetwork(networkId).remove();
      } catch (e) {
        if ((e as DockerError).statusCode !== 404) failures.push(`removing network ${prefix}: ${why(e)}`);
      }
    }
    if (rule) {
      const r = await iptables(['-D', 'DOCKER-USER', ...rule]);
      if (r.exitCode !== 0) failures.push(`\`iptables -D DOCKER-USER ${prettyCommand(rule)}\`: ${r.stderr.trim()}`);
    }
    if (failures.length > 0) throw new Error(`rehearsal ${runId}: removal left something behind:\n${failures.join('\n')}`);
  };

  try {
    // --- network
    const tNet = Date.now();
    try {
      const net = await d.createNetwork({
        Name: prefix,
        Driver: 'bridge',
        CheckDuplicate: true,
        Internal: internal,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gateway }] },
        Labels: labels,
      });
      networkId = net.id;
    } catch (e) {
      if (/overlap|in use/i.test(why(e))) throw new NodesInputError(`docker refused the network ${subnet}: ${why(e)}; rehearse in another subnet with --subnet CIDR`);
      throw new Error(`docker could not create the network ${prefix} (${subnet}): ${why(e)}`, { cause: e });
    }
    if (internal) {
      const bridge = `br-${networkId!.slice(0, 12)}`;
      if (!existsSync(`/sys/class/net/${bridge}`)) throw new Error(`network ${prefix}: no bridge ${bridge} on this machine`);
      const r = await iptables(['-I', 'DOCKER-USER', ...intraBridgeRule(bridge, runId)]);
      if (r.exitCode !== 0) throw new Error(`\`iptables -I DOCKER-USER ${prettyCommand(intraBridgeRule(bridge, runId))}\` failed: ${r.stderr.trim()}`);
      rule = intraBridgeRule(bridge, runId);
    }
    log(`network ${prefix}: ${subnet}, gateway ${gateway}${internal ? ', internal (no route out)' : ''} (${Date.now() - tNet} ms)`);

    // --- containers
    signal?.throwIfAborted();
    const tRun = Date.now();
    const planned = view.hosts.map((h) => ({ host: h.name, address: h.address, interface: h.interface ?? 'eth0', containerName: `${prefix}-${h.name}` }));
    const made = await Promise.allSettled(
      planned.map(async (p) => {
        const c = await d.createContainer({
          name: p.containerName,
          Hostname: p.host,
          Image: opts.image,
          Env: ['container=docker'],
          Labels: { ...labels, [NODE_HOST_LABEL]: p.host, [NODE_CLUSTER_LABEL]: view.name },
          // systemd halts on SIGRTMIN+3 (SIGTERM makes it re-execute itself)
          StopSignal: 'SIGRTMIN+3',
          StopTimeout: 20,
          // an anonymous volume: overlayfs cannot hold containerd's overlay snapshots; removed with the container
          Volumes: { '/var/lib/containerd': {} },
          HostConfig: {
            Privileged: true,
            CgroupnsMode: 'private',
            Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' },
            NetworkMode: prefix,
          } as Dockerode.HostConfig & { CgroupnsMode: 'private' },
          NetworkingConfig: { EndpointsConfig: { [prefix]: { IPAMConfig: { IPv4Address: p.address }, Aliases: [p.host] } } },
        });
        containerIds.push(c.id);
        await c.start();
        return c.id;
      }),
    );
    const failed = made.find((m): m is PromiseRejectedResult => m.status === 'rejected');
    if (failed) throw new Error(`docker could not start a node container: ${why(failed.reason)}`, { cause: failed.reason });
    const nodes: RehearsalNode[] = planned.map((p, i) => ({ ...p, containerId: (made[i] as PromiseFulfilledResult<string>).value }));
    log(`${nodes.length} node containers started (${Date.now() - tRun} ms)`);

    // --- systemd up, then the spec's interface name
    const exec = new Map(nodes.map((n) => [n.host, new KindExecutor({ host: n.host, container: n.containerId })]));
    const run = (n: RehearsalNode, argv: string[], timeoutMs = 30_000) =>
      exec.get(n.host)!.run(argv, { timeoutMs, ...(signal ? { signal } : {}) });
    await Promise.all(nodes.map((n) => waitReady(d, n, exec.get(n.host)!, readyTimeoutMs, log, signal)));
    await Promise.all(
      nodes.map(async (n) => {
        if (n.interface !== 'eth0') {
          await run(n, ['sh', '-c', RENAME, 'sh', 'eth0', n.interface]);
          log(`${n.host}: eth0 renamed ${n.interface}`);
        }
        const a = await run(n, ['ip', '-o', '-4', 'addr', 'show', 'dev', n.interface]);
        if (!a.stdout.includes(` inet ${n.address}/`)) {
          throw new Error(`${n.host}: ${n.interface} does not hold the spec's address ${n.address}: ${a.stdout.trim() || '(no IPv4 address)'}`);
        }
      }),
    );

    // --- what the install needs of the network
    const tNet2 = Date.now();
    const unreachable: string[] = [];
    for (const n of nodes) {
      const r = await answers(n.address);
      if (r) unreachable.push(`${n.host} ${n.address}: ${r}`);
    }
    if (vip) {
      // the VRRP MASTER-to-be holds the VIP for the check (keepalived takes it over with a gratuitous ARP)
      const holder = nodes.find((n) => n.host === (view.lbHosts[0] ?? view.firstControlPlane).name)!;
      await run(holder, ['ip', 'addr', 'add', `${vip}/32`, 'dev', holder.interface]);
      try {
        const r = await answers(vip);
        if (r) unreachable.push(`the VIP ${vip} (held by ${holder.host} for the check): ${r}`);
      } finally {
        await run(holder, ['ip', 'addr', 'del', `${vip}/32`, 'dev', holder.interface]);
      }
    }
    if (unreachable.length > 0) throw new Error(`this machine cannot reach the nodes' addresses:\n  ${unreachable.join('\n  ')}`);
    if (nodes.length > 1) {
      const py = await exec.get(nodes[0]!.host)!.run(['sh', '-c', 'command -v python3'], { allowFailure: true, timeoutMs: 30_000 });
      if (py.exitCode !== 0) {
        log(`UDP 4789 between nodes not checked: the image has no python3`);
      } else {
        // a ring: every node receives from the one before it and sends to the one after it
        const results = await Promise.allSettled(
          nodes.map(async (to, i) => {
            const from = nodes[(i + nodes.length - 1) % nodes.length]!;
            const listen = exec.get(to.host)!.run(['python3', '-c', UDP_LISTEN, to.address, '25'], { allowFailure: true, timeoutMs: 40_000, ...(signal ? { signal } : {}) });
            await sleep(300);
            const send = exec.get(from.host)!.run(['python3', '-c', UDP_SEND, to.address, '20'], { allowFailure: true, timeoutMs: 40_000, ...(signal ? { signal } : {}) });
            const [l, s] = await Promise.all([listen, send]);
            if (l.exitCode !== 0 || s.exitCode !== 0 || l.stdout.trim() !== from.address) {
              throw new Error(`UDP 4789 (Calico VXLAN) from ${from.host} ${from.address} to ${to.host} ${to.address} did not pass: ${tail(l.stderr || l.stdout, 2) || `received from ${l.stdout.trim() || 'nobody'}`}`);
            }
          }),
        );
        const bad = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
        if (bad.length > 0) throw new Error(bad.join('\n'));
      }
    }
    log(`network checked: this machine reaches ${nodes.length} nodes${vip ? ' and the VIP' : ''}${nodes.length > 1 ? ', UDP 4789 passes between them' : ''} (${Date.now() - tNet2} ms)`);
    await Promise.all([...exec.values()].map((e) => e.close()));

    return {
      runId,
      network: { name: prefix, subnet, gateway, internal },
      nodes,
      vip,
      warnings,
      destroy,
      detach() {
        detached = true;
        process.off('exit', cleanupSync);
      },
    };
  } catch (e) {
    await destroy().catch((err: Error) => log(err.message));
    throw e;
  }
}

/**
 * systemd running or degraded; `--wait` blocks until boot finishes (one exec, not a poll per 300 ms). A node whose
 * PID 1 exits while it boots (seen once on a loaded machine: exit 255 within 2 s, no output) is started once more;
 * a second exit fails at once with its exit code and log tail instead of waiting out the timeout.
 */
async function waitReady(
  d: Dockerode,
  n: RehearsalNode,
  exec: KindExecutor,
  timeoutMs: number,
  log: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  const container = d.getContainer(n.containerId);
  const logTail = async () => {
    try {
      const text = demuxLogs((await container.logs({ stdout: true, stderr: true, tail: 30, follow: false })) as unknown as Buffer).trim();
      return text ? `\ncontainer log tail:\n${text}` : ' (the container logged nothing)';
    } catch {
      return '';
    }
  };
  let state = '';
  let restarts = 0;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const r = await exec
      .run(['systemctl', 'is-system-running', '--wait'], {
        allowFailure: true,
        timeoutMs: Math.max(1000, deadline - Date.now()),
        ...(signal ? { signal } : {}),
      })
      .catch((e: Error) => ({ stdout: '', stderr: e.message }));
    state = r.stdout.trim() || r.stderr.trim();
    if (state === 'running' || state === 'degraded') {
      log(`${n.host}: systemd ${state} after ${Date.now() - t0} ms${restarts ? ` (started ${restarts + 1} times)` : ''}`);
      if (state === 'degraded') {
        const f = await exec.run(['systemctl', '--failed', '--no-legend', '--plain'], { allowFailure: true, timeoutMs: 30_000 });
        log(`${n.host}: failed units: ${f.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]).join(' ')}`);
      }
      return;
    }
    const info = await container.inspect().catch(() => undefined);
    if (info && !info.State.Running) {
      const what = `${n.host}: the node's PID 1 (systemd) exited with ${info.State.ExitCode} ${Date.now() - t0} ms after the start${info.State.Error ? ` (${info.State.Error})` : ''}`;
      if (restarts >= 1) throw new Error(`${what}, for the second time${await logTail()}`);
      restarts++;
      log(`${what}; starting it once more${(await logTail()).replace(/\n/g, '\n  ')}`);
      await container.start();
      continue;
    }
    await sleep(500);
  }
  throw new Error(`${n.host}: systemd not running within ${timeoutMs} ms (last state: ${state || 'none'})${await logTail()}`);
}
