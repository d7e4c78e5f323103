// The multi-host test bed: real hosts as containers. Each host is a privileged container of the image that
// scripts/testbed/setup.sh builds (Debian bookworm, systemd as PID 1, sshd; no keepalived/haproxy), on a docker
// network made for the run, with its own static address, its own SSH host keys and the run's key authorised for
// root and for `airgap` (passwordless sudo).
//
//   const tb = await createTestbed({ name: 'lb', hosts: ['cp1', 'cp2', 'cp3'] });
//   try {
//     tb.hosts[0].address;                              // 172.31.X.11, reachable from this machine
//     await tb.exec('cp1', ['systemctl', 'is-active', 'ssh']);
//     const vip = tb.network.spareAddresses[0];         // on the test network, never given to a host
//   } finally {
//     await tb.destroy();
//   }
//
// Everything goes through the docker CLI (argv, never a shell string); nothing is pulled. Containers and the
// network carry the label airgap-k8s.testbed=<runId> and the owning process id, so a crashed run's leftovers are
// removed by the next createTestbed() (see sweepTestbeds) or by scripts/testbed/sweep.sh.
// The network is `--internal` by default: hosts reach each other and this machine, and nothing else. So that VRRP
// multicast passes between hosts, a rule in iptables' DOCKER-USER chain accepts traffic within the run's bridge
// (see intraBridgeRule); it is removed with the network.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname as machineName, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecError, type RunResult } from '../../src/executors/executor.js';

export const LABEL = 'airgap-k8s.testbed';
const LABEL_NAME = `${LABEL}.name`;
const LABEL_PID = `${LABEL}.owner-pid`;
const LABEL_MACHINE = `${LABEL}.owner-machine`;
const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** temp dirs are named <prefix><owner pid>-<random>, so a sweep can tell a dead run's dir */
const TEMP_PREFIX = 'airgap-k8s-testbed-';

/** What scripts/testbed/setup.sh built, read from ${AIRGAP_K8S_CACHE:-/var/cache/airgap-k8s}/testbed/testbed.json. */
export interface TestbedManifest {
  /** the host image, airgap-k8s/testbed-host:<key> (local only: never pulled) */
  image: string;
  imageKey: string;
  /** directory of .deb files: keepalived, haproxy and the dependencies the image lacks */
  bundleDir: string;
  bundleDebs: string[];
  runtime: string;
  dockerServerVersion: string;
}

export interface TestbedOptions {
  /** names the run in container names and labels: [a-z][a-z0-9-]* */
  name: string;
  /** a count (hosts named <name>-1..n) or the host names themselves (hostnames and network aliases) */
  hosts: number | readonly string[];
  /** default: the manifest's image */
  image?: string;
  /** per host, from `docker run` to systemd running and sshd answering; default 120 s */
  readyTimeoutMs?: number;
  /** default true: docker drops whatever would leave the network (--internal); hosts still reach this machine */
  internal?: boolean;
  /** progress lines; default silent */
  log?: (line: string) => void;
  /**
   * hosts able to run a kubelet and containerd (measured recipe, ../shared/reference/test-infra.md): a private
   * cgroup namespace (systemd's cgroup paths nest wrongly in the host's), /tmp as tmpfs, and /var/lib/containerd on
   * an anonymous volume (overlayfs cannot hold containerd's overlay snapshots; removed with the container)
   */
  kubernetes?: boolean;
  /** extra labels per host container (e.g. the kind executor's airgap-k8s.node.host / .cluster) */
  hostLabels?: (host: string) => Record<string, string>;
}

export interface TestbedHost {
  /** hostname inside the container, and its alias on the test network */
  name: string;
  /** static IPv4 address on the test network */
  address: string;
  containerId: string;
  containerName: string;
  interface: 'eth0';
  /** `SHA256:...` of /etc/ssh/ssh_host_ed25519_key.pub, made on this container's first boot */
  hostKeyFingerprint: string;
  /** the `ssh-ed25519 AAAA...` line of that key */
  hostPublicKey: string;
}

export interface TestbedNetwork {
  name: string;
  /** e.g. 172.31.7.0/24 */
  subnet: string;
  gateway: string;
  prefixLength: number;
  /** addresses in the subnet that no host and no docker allocation will take (.200-.254): use them for VIPs */
  spareAddresses: readonly string[];
}

export interface TestbedExecOptions {
  stdin?: string | Buffer;
  /** default 60 s; the docker CLI is killed and the result has timedOut: true */
  timeoutMs?: number;
  /** default root */
  user?: string;
  env?: Record<string, string>;
  /** return a non-zero result instead of throwing ExecError */
  allowFailure?: boolean;
}

export interface TestbedTimings {
  /** network creation */
  networkMs: number;
  /** `docker run` of all hosts (in parallel) */
  runMs: number;
  /** from `docker run` returning to the last host ready (systemd running/degraded, sshd answering) */
  readyMs: number;
  totalMs: number;
}

export interface Testbed {
  readonly runId: string;
  readonly name: string;
  readonly image: string;
  readonly hosts: readonly TestbedHost[];
  readonly network: TestbedNetwork;
  /** ed25519 private key (OpenSSH format, no passphrase) authorised for root and `airgap` on every host */
  readonly privateKeyPath: string;
  readonly publicKey: string;
  /** known_hosts with every host's address and all its host keys */
  readonly knownHostsPath: string;
  /** the offline bundle's .deb directory on this machine */
  readonly bundleDir: string;
  readonly timings: TestbedTimings;
  host(name: string): TestbedHost;
  /** run argv in the host (docker exec); throws ExecError on a non-zero exit unless allowFailure */
  exec(host: HostRef, argv: readonly string[], opts?: TestbedExecOptions): Promise<RunResult>;
  /** write a file atomically (temp + rename), creating parent directories */
  writeFile(host: HostRef, path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** docker cp: a local file or directory into the container */
  copyTo(host: HostRef, localPath: string, containerPath: string): Promise<void>;
  /** `docker stop` (systemd halts cleanly: services stop, keepalived gives up its VIP) or, with kill, `docker kill` */
  stop(host: HostRef, opts?: { kill?: boolean }): Promise<void>;
  /** `docker start` and wait until ready again (same address, same host keys, same files) */
  start(host: HostRef): Promise<void>;
  /** remove containers, network and temp files; safe to call twice; collects every failure */
  destroy(): Promise<void>;
}

export type HostRef = string | TestbedHost;

export function cacheDir(): string {
  return join(process.env.AIRGAP_K8S_CACHE || '/var/cache/airgap-k8s', 'testbed');
}

export function readManifest(): TestbedManifest {
  const path = join(cacheDir(), 'testbed.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: prepare the test bed with \`npm run testbed:setup\` (as root)`);
  return JSON.parse(readFileSync(path, 'utf8')) as TestbedManifest;
}

// ---------------------------------------------------------------------------------------------------------------
// docker CLI

interface CmdOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** the whole environment of the command; default this process's */
  env?: NodeJS.ProcessEnv;
}

/** Runs a local command (argv, no shell) and collects its output; never throws on a non-zero exit. */
export function runLocal(argv: readonly string[], opts: CmdOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('runLocal: empty argv');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => {}); // the command may exit without reading; its exit code tells
      child.stdin!.end(opts.stdin);
    }
  });
}

async function docker(args: readonly string[], opts: CmdOptions & { allowFailure?: boolean } = {}): Promise<RunResult> {
  const argv = ['docker', ...args];
  const r = await runLocal(argv, opts);
  if (r.exitCode !== 0 && !opts.allowFailure) throw new ExecError('localhost', argv, r);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// waiting

/** Polls fn until it returns a value other than undefined; rejects after timeoutMs with the last error or value. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 250 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Opens a TCP connection and returns the first line the server sends (an SSH server's banner: `SSH-2.0-...`). */
export function readBanner(address: string, port = 22, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: address, port });
    let buf = '';
    const done = (e: Error | null, line?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(line!);
    };
    const timer = setTimeout(() => done(new Error(`${address}:${port}: no banner within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(null, buf.slice(0, nl).replace(/\r$/, ''));
    });
    sock.on('error', (e) => done(e));
    sock.on('end', () => done(new Error(`${address}:${port}: closed before a full line (${JSON.stringify(buf)})`)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// addresses

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`bad IPv4 ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** [first, last] of an IPv4 CIDR */
function cidrRange(cidr: string): [number, number] {
  const [ip, len] = cidr.split('/');
  const bits = Number(len ?? 32);
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipToInt(ip!) / size) * size;
  return [start, start + size - 1];
}

function overlaps(a: string, b: string): boolean {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
}

/** Subnets already in use here: every docker network's and every route of this machine (/proc/net/route). */
async function usedSubnets(): Promise<string[]> {
  const used: string[] = [];
  const ids = (await docker(['network', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) {
    const r = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids], {
      allowFailure: true, // a network removed meanwhile
    });
    used.push(...r.stdout.split(/\s+/).filter((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)));
  }
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[1] === '00000000') continue; // the default route overlaps everything
      const le = (hex: string) => intToIp(Number.parseInt(hex.match(/../g)!.reverse().join(''), 16));
      const mask = ipToInt(le(f[7]!));
      const len = mask === 0 ? 0 : 32 - Math.log2((~mask >>> 0) + 1);
      used.push(`${le(f[1]!)}/${len}`);
    }
  } catch {
    // no /proc/net/route: docker's own overlap check still applies
  }
  return used;
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
 * Removes test-bed containers, networks, DOCKER-USER rules and temp dirs whose owning process (on this machine) is
 * gone; with `all`, every test-bed container, network and temp dir. Returns what it removed.
 */
export async function sweepTestbeds(opts: { all?: boolean } = {}): Promise<{ containers: string[]; networks: string[]; tempDirs: string[] }> {
  const stale = (labels: string): boolean => {
    if (opts.all) return true;
    const map = new Map(labels.split(',').map((kv) => kv.split('=') as [string, string]));
    const pid = Number(map.get(LABEL_PID));
    return map.get(LABEL_MACHINE) === machineName() && Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
  };
  const list = async (kind: 'container' | 'network') => {
    const args =
      kind === 'container'
        ? ['ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.ID}}\t{{.Labels}}']
        : ['network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.ID}}\t{{.Labels}}'];
    return (await docker(args)).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t') as [string, string])
      .filter(([, labels]) => stale(labels ?? ''))
      .map(([id]) => id);
  };
  const containers = await list('container');
  if (containers.length > 0) await docker(['rm', '-f', '-v', ...containers], { allowFailure: true, timeoutMs: 120_000 });
  const networks = await list('network');
  for (const n of networks) await docker(['network', 'rm', n], { allowFailure: true });
  // intra-network rules whose network is gone (whoever made them)
  const live = new Set(
    (await docker(['network', 'ls', '--filter', `label=${LABEL}`, '--format', `{{.Label "${LABEL}"}}`])).stdout.split('\n').filter(Boolean),
  );
  const rules = await runLocal(['iptables', '-w', '10', '-S', 'DOCKER-USER']).catch(() => undefined);
  for (const rule of parseIntraBridgeRules(rules?.stdout ?? '')) {
    if (!live.has(rule.runId)) {
      await runLocal(['iptables', '-w', '10', '-D', 'DOCKER-USER', ...intraBridgeRule(rule.bridge, rule.runId)]);
    }
  }
  // temp dirs (key, known_hosts) of dead processes on this machine; with `all`, every one
  const tempDirs: string[] = [];
  for (const d of readdirSync(tmpdir())) {
    const m = d.startsWith(TEMP_PREFIX) ? d.slice(TEMP_PREFIX.length).match(/^(\d+)-/) : null;
    if (m && (opts.all || !pidAlive(Number(m[1])))) {
      rmSync(join(tmpdir(), d), { recursive: true, force: true });
      tempDirs.push(d);
    }
  }
  return { containers, networks, tempDirs };
}

/** The test-bed rules in `iptables -S DOCKER-USER` output (which prints the comment quoted). */
export function parseIntraBridgeRules(listing: string): { bridge: string; runId: string }[] {
  const found: { bridge: string; runId: string }[] = [];
  const comment = new RegExp(`--comment "?${LABEL.replace(/\./g, '\\.')}=([^"\\s]+)"?`);
  for (const line of listing.split('\n')) {
    const c = line.match(comment);
    const i = line.match(/^-A DOCKER-USER -i (\S+) -o (\S+) /);
    if (c && i && i[1] === i[2]) found.push({ bridge: i[1]!, runId: c[1]! });
  }
  return found;
}

/**
 * On an --internal network docker drops every bridged packet whose destination is outside the subnet
 * (DOCKER-ISOLATION-STAGE-1 `! -d SUBNET -i BRIDGE -j DROP`), and that includes VRRP's multicast to 224.0.0.18:
 * keepalived would split-brain. This rule, in docker's DOCKER-USER chain (evaluated first), accepts traffic that
 * enters and leaves the run's own bridge, as a non-internal network does; nothing reaches beyond the bridge.
 */
function intraBridgeRule(bridge: string, runId: string): string[] {
  return ['-i', bridge, '-o', bridge, '-m', 'comment', '--comment', `${LABEL}=${runId}`, '-j', 'ACCEPT'];
}

// ---------------------------------------------------------------------------------------------------------------

export async function createTestbed(opts: TestbedOptions): Promise<Testbed> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(opts.name)) throw new Error(`testbed name ${JSON.stringify(opts.name)}: use [a-z][a-z0-9-]{0,20}`);
  const names =
    typeof opts.hosts === 'number'
      ? Array.from({ length: opts.hosts }, (_, i) => `${opts.name}-${i + 1}`)
      : [...opts.hosts];
  if (names.length < 1 || names.length > 100) throw new Error(`testbed hosts: 1..100, got ${names.length}`);
  for (const n of names) if (!HOST_NAME.test(n)) throw new Error(`testbed host name ${JSON.stringify(n)}: use [a-z][a-z0-9-]{0,30}`);
  if (new Set(names).size !== names.length) throw new Error(`testbed host names repeat: ${names.join(', ')}`);

  const manifest = readManifest();
  const image = opts.image ?? manifest.image;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const runId = `${opts.name}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const prefix = `airgap-k8s-tb-${runId}`;
  const labels = [
    '--label', `${LABEL}=${runId}`,
    '--label', `${LABEL_NAME}=${opts.name}`,
    '--label', `${LABEL_PID}=${process.pid}`,
    '--label', `${LABEL_MACHINE}=${machineName()}`,
  ];

  if ((await docker(['image', 'inspect', image], { allowFailure: true })).exitCode !== 0) {
    throw new Error(`image ${image} is not in the local docker: run \`npm run testbed:setup\` (no image is ever pulled)`);
  }
  const swept = await sweepTestbeds();
  if (swept.containers.length + swept.networks.length > 0) {
    log(`swept leftovers of dead runs: ${swept.containers.length} containers, ${swept.networks.length} networks`);
  }

  // From here on everything made is removed again on failure, on destroy() and (synchronously) on process exit.
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  const containerIds: string[] = [];
  let networkName: string | undefined;
  let rule: string[] | undefined;
  let destroyed = false;
  const cleanupSync = () => {
    if (destroyed) return;
    destroyed = true;
    if (containerIds.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...containerIds], { stdio: 'ignore', timeout: 60_000 });
    if (networkName) spawnSync('docker', ['network', 'rm', networkName], { stdio: 'ignore', timeout: 30_000 });
    if (rule) spawnSync('iptables', ['-w', '10', '-D', 'DOCKER-USER', ...rule], { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    process.removeListener('exit', cleanupSync);
    const failures: string[] = [];
    // by label as well as by id: a container whose `docker run` failed half-way has no id recorded
    const labelled = await docker(['ps', '-aq', '--no-trunc', '--filter', `label=${LABEL}=${runId}`], { allowFailure: true });
    const ids = [...new Set([...containerIds, ...labelled.stdout.split('\n').filter(Boolean)])];
    if (ids.length > 0) {
      const r = await docker(['rm', '-f', '-v', ...ids], { allowFailure: true, timeoutMs: 120_000 });
      if (r.exitCode !== 0 && !/No such container/.test(r.stderr)) failures.push(`docker rm: ${r.stderr.trim()}`);
    }
    if (networkName) {
      const r = await docker(['network', 'rm', networkName], { allowFailure: true, timeoutMs: 60_000 });
      if (r.exitCode !== 0 && !/not found/.test(r.stderr)) failures.push(`docker network rm: ${r.stderr.trim()}`);
    }
    if (rule) {
      const r = await runLocal(['iptables', '-w', '10', '-D', 'DOCKER-USER', ...rule]);
      if (r.exitCode !== 0) failures.push(`iptables -D DOCKER-USER ${rule.join(' ')}: ${r.stderr.trim()}`);
    }
    rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`testbed ${runId}: destroy left something behind:\n${failures.join('\n')}`);
  };

  try {
    // --- network: a free 172.31.X.0/24; hosts .11.., docker's own allocations confined to .0/25, VIPs .200-.254
    const tNet = Date.now();
    const used = await usedSubnets();
    const start = randomBytes(1)[0]!;
    let network: TestbedNetwork | undefined;
    for (let i = 0; i < 256 && !network; i++) {
      const x = (start + i) % 256;
      const subnet = `172.31.${x}.0/24`;
      if (used.some((u) => overlaps(u, subnet))) continue;
      const name = `${prefix}`;
      const r = await docker(
        [
          'network', 'create', '--driver', 'bridge', '--subnet', subnet, '--gateway', `172.31.${x}.1`,
          '--ip-range', `172.31.${x}.0/25`, ...(opts.internal === false ? [] : ['--internal']), ...labels, name,
        ],
        { allowFailure: true },
      );
      if (r.exitCode === 0) {
        networkName = name;
        network = {
          name,
          subnet,
          gateway: `172.31.${x}.1`,
          prefixLength: 24,
          spareAddresses: Array.from({ length: 55 }, (_, k) => `172.31.${x}.${200 + k}`),
        };
      } else if (!/overlap|in use/i.test(r.stderr)) {
        throw new ExecError('localhost', ['docker', 'network', 'create', name], r);
      } // else: taken meanwhile (another run): try the next one
    }
    if (!network) throw new Error('no free 172.31.X.0/24 subnet for the test network');
    if (opts.internal !== false) {
      const id = (await docker(['network', 'inspect', '--format', '{{.Id}}', network.name])).stdout.trim();
      const bridge = `br-${id.slice(0, 12)}`;
      if (!existsSync(`/sys/class/net/${bridge}`)) throw new Error(`network ${network.name}: no bridge ${bridge} on this machine`);
      const r = await runLocal(['iptables', '-w', '10', '-I', 'DOCKER-USER', ...intraBridgeRule(bridge, runId)]);
      if (r.exitCode !== 0) throw new ExecError('localhost', ['iptables', '-I', 'DOCKER-USER', ...intraBridgeRule(bridge, runId)], r);
      rule = intraBridgeRule(bridge, runId);
    }
    const networkMs = Date.now() - tNet;
    log(`network ${network.name} ${network.subnet}${opts.internal === false ? '' : ' (internal)'}`);

    // --- the run's SSH key
    const privateKeyPath = join(dir, 'id_ed25519');
    const kg = await runLocal(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `airgap-k8s-testbed-${runId}`, '-f', privateKeyPath]);
    if (kg.exitCode !== 0) throw new ExecError('localhost', ['ssh-keygen', '-f', privateKeyPath], kg);
    const publicKey = readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();

    // --- hosts
    const tRun = Date.now();
    const base = network.subnet.replace(/\.0\/24$/, '');
    const planned = names.map((name, i) => ({ name, address: `${base}.${11 + i}`, containerName: `${prefix}-${name}` }));
    // allSettled: every container that did start is recorded (and so removed) even when another failed
    const started = await Promise.allSettled(
      planned.map(async (h) => {
        const r = await docker(
          [
            'run', '-d', '--name', h.containerName, '--hostname', h.name,
            '--network', network!.name, '--ip', h.address, '--network-alias', h.name,
            // privileged works through the airgap-k8s-runc default runtime (setup.sh); systemd needs /run as tmpfs
            '--privileged', '--tmpfs', '/run', '--tmpfs', '/run/lock',
            ...(opts.kubernetes ? ['--cgroupns', 'private', '--tmpfs', '/tmp', '-v', '/var/lib/containerd'] : []),
            ...Object.entries(opts.hostLabels?.(h.name) ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
            // systemd halts on SIGRTMIN+3 (SIGTERM makes it re-execute itself)
            '--stop-signal', 'SIGRTMIN+3', '--stop-timeout', '20',
            ...labels, image,
          ],
          { timeoutMs: 120_000, allowFailure: true },
        );
        const id = r.stdout.trim();
        if (/^[0-9a-f]{64}$/.test(id)) containerIds.push(id);
        if (r.exitCode !== 0) throw new ExecError('localhost', ['docker', 'run', '--name', h.containerName, image], r);
        return [h.name, id] as const;
      }),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const idOf = new Map(started.map((s) => (s as PromiseFulfilledResult<readonly [string, string]>).value));
    const runMs = Date.now() - tRun;

    const execIn = (containerId: string, hostName: string) =>
      async (argv: readonly string[], o: TestbedExecOptions = {}): Promise<RunResult> => {
        const args = ['exec'];
        if (o.stdin !== undefined) args.push('-i');
        if (o.user) args.push('-u', o.user);
        for (const [k, v] of Object.entries(o.env ?? {})) args.push('-e', `${k}=${v}`);
        const r = await runLocal(['docker', ...args, containerId, ...argv], {
          ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
          timeoutMs: o.timeoutMs ?? 60_000,
        });
        if ((r.exitCode !== 0 || r.timedOut) && !o.allowFailure) throw new ExecError(hostName, argv, r);
        return r;
      };

    const authorize = (containerId: string, hostName: string) =>
      execIn(containerId, hostName)(
        [
          'sh', '-ec',
          'for u in root airgap; do h=$(getent passwd "$u" | cut -d: -f6); install -d -m 700 -o "$u" -g "$u" "$h/.ssh"; ' +
            'printf "%s\\n" "$1" > "$h/.ssh/authorized_keys"; chown "$u:$u" "$h/.ssh/authorized_keys"; ' +
            'chmod 600 "$h/.ssh/authorized_keys"; done',
          'sh', publicKey,
        ],
      );

    /** systemd up (running or degraded) and sshd answering on the address from this machine */
    const waitReady = async (containerId: string, name: string, address: string): Promise<void> => {
      const exec = execIn(containerId, name);
      const bootStart = Date.now();
      const deadline = bootStart + readyTimeoutMs;
      const left = () => Math.max(1, deadline - Date.now());
      let state = '';
      try {
        // --wait blocks until boot finishes (one docker exec, not a poll per 300 ms: on 2 cores each exec costs);
        // it fails fast while PID 1 has no bus yet, hence the loop.
        state = await waitFor(
          `${name}: systemctl is-system-running`,
          async () => {
            const r = await exec(['systemctl', 'is-system-running', '--wait'], { allowFailure: true, timeoutMs: left() });
            state = r.stdout.trim() || r.stderr.trim();
            return state === 'running' || state === 'degraded' ? state : undefined;
          },
          { timeoutMs: left(), intervalMs: 500 },
        );
        log(`${name}: systemd ${state} after ${Date.now() - bootStart} ms`);
        if (state === 'degraded') {
          const failed = await exec(['systemctl', '--failed', '--no-legend', '--plain'], { allowFailure: true });
          log(`${name}: systemd degraded: ${failed.stdout.trim()}`);
        }
        await waitFor(`${name}: sshd on ${address}:22`, async () => {
          const banner = await readBanner(address, 22, Math.min(5_000, left()));
          return banner.startsWith('SSH-2.0-') ? banner : undefined;
        }, { timeoutMs: left(), intervalMs: 300 });
      } catch (e) {
        const logs = await docker(['logs', '--tail', '30', containerId], { allowFailure: true });
        throw new Error(
          `${name} (${address}) not ready within ${readyTimeoutMs} ms (last systemd state: ${state || 'none'}): ` +
            `${(e as Error).message}\ncontainer log tail:\n${logs.stdout}${logs.stderr}`,
        );
      }
    };

    const hosts: TestbedHost[] = await Promise.all(
      planned.map(async (p) => {
        const containerId = idOf.get(p.name)!;
        await authorize(containerId, p.name);
        await waitReady(containerId, p.name, p.address);
        const exec = execIn(containerId, p.name);
        const fp = (await exec(['ssh-keygen', '-lf', '/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.trim().split(/\s+/)[1];
        if (!fp?.startsWith('SHA256:')) throw new Error(`${p.name}: cannot read the host key fingerprint`);
        const keys = (await exec(['sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub'])).stdout.trim().split('\n');
        const ed = keys.find((k) => k.startsWith('ssh-ed25519 '));
        if (!ed) throw new Error(`${p.name}: no ed25519 host key`);
        writeFileSync(join(dir, `known_hosts.${p.name}`), keys.map((k) => `${p.address} ${k.split(/\s+/).slice(0, 2).join(' ')}\n`).join(''));
        return {
          name: p.name,
          address: p.address,
          containerId,
          containerName: p.containerName,
          interface: 'eth0' as const,
          hostKeyFingerprint: fp,
          hostPublicKey: ed.split(/\s+/).slice(0, 2).join(' '),
        };
      }),
    );
    const readyMs = Date.now() - tRun - runMs;
    const knownHostsPath = join(dir, 'known_hosts');
    writeFileSync(knownHostsPath, hosts.map((h) => readFileSync(join(dir, `known_hosts.${h.name}`), 'utf8')).join(''));

    const byName = new Map(hosts.map((h) => [h.name, h]));
    const resolve = (ref: HostRef): TestbedHost => {
      const h = byName.get(typeof ref === 'string' ? ref : ref.name);
      if (!h) throw new Error(`testbed ${runId}: no host ${typeof ref === 'string' ? ref : ref.name} (have ${names.join(', ')})`);
      return h;
    };
    const exec = (ref: HostRef, argv: readonly string[], o?: TestbedExecOptions) => {
      const h = resolve(ref);
      return execIn(h.containerId, h.name)(argv, o);
    };

    const tb: Testbed = {
      runId,
      name: opts.name,
      image,
      hosts,
      network,
      privateKeyPath,
      publicKey,
      knownHostsPath,
      bundleDir: manifest.bundleDir,
      timings: { networkMs, runMs, readyMs, totalMs: Date.now() - t0 },
      host: (name) => resolve(name),
      exec,
      async writeFile(ref, path, content, mode = 0o644) {
        await exec(
          ref,
          ['sh', '-ec', 'mkdir -p "$(dirname "$1")"; cat > "$1.tmp.$$"; chmod "$2" "$1.tmp.$$"; mv -f "$1.tmp.$$" "$1"', 'sh', path, mode.toString(8)],
          { stdin: content },
        );
      },
      async copyTo(ref, localPath, containerPath) {
        await docker(['cp', localPath, `${resolve(ref).containerId}:${containerPath}`], { timeoutMs: 120_000 });
      },
      async stop(ref, o = {}) {
        const h = resolve(ref);
        await docker(o.kill ? ['kill', h.containerId] : ['stop', h.containerId], { timeoutMs: 60_000 });
      },
      async start(ref) {
        const h = resolve(ref);
        await docker(['start', h.containerId], { timeoutMs: 60_000 });
        await waitReady(h.containerId, h.name, h.address);
      },
      destroy,
    };
    log(`hosts ready: ${hosts.map((h) => `${h.name}=${h.address}`).join(' ')} (run ${runMs} ms, ready ${readyMs} ms)`);
    return tb;
  } catch (e) {
    await destroy().catch(() => {});
    throw e;
  }
}
