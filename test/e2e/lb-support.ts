// Helpers for the HA load-balancer end-to-end test (./ha-lb.test.ts): the cluster spec for the test bed's hosts,
// one `apply` through the real runner and SSH executor, the stand-in apiserver, HTTPS through the VIP, and who
// holds the VIP. Every wait is bounded.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshExecutorForHost, type SshExecutor } from '../../src/executors/ssh/ssh.js';
import { renderView } from '../../src/generators/index.js';
import { outputPath } from '../../src/generators/types.js';
import { planFor } from '../../src/plan/build.js';
import type { PhaseName, Plan } from '../../src/plan/types.js';
import type { Journal } from '../../src/runner/journal.js';
import { secretValues } from '../../src/runner/redact.js';
import { runPlan, type RunEvent, type RunSummary } from '../../src/runner/runner.js';
import { inputsFromSecrets, parseSecrets } from '../../src/secrets/secrets.js';
import { deriveView, type ClusterView } from '../../src/spec/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import type { Secrets } from '../../src/secrets/types.js';
import { FIXTURES } from '../support/fixtures.js';
import { type Testbed, type TestbedHost, sleep, waitFor } from '../testbed/testbed.js';

export const LB_PORT = 6553;
export const BACKEND_PORT = 6443;
/** The phases the test applies. distribute and prepare-os are left out on purpose: see ha-lb.test.ts. */
export const LB_PHASES: readonly PhaseName[] = ['preflight', 'load-balancer'];
export const BUNDLE_DIR = '/data/k8s';
/** every file the load-balancer phase writes on each LB host */
export const LB_FILES = ['/etc/keepalived/keepalived.conf', '/etc/keepalived/check_apiserver.sh', '/etc/haproxy/haproxy.cfg'] as const;

/**
 * The HA spec for the test bed: every host a control plane, the first `lbCount` also load balancers (cp1 MASTER at
 * 101, then 100, 99), Debian 12, eth0, the VIP and hostSubnet on the test network. SSH as the non-root user
 * `airgap` through sudo, each host key pinned by the fingerprint the test bed read from the host.
 */
export function lbSpecText(tb: Testbed, vip: string, lbCount: number): string {
  const hosts = tb.hosts.map((h, i) => {
    const roles = i < lbCount ? '[control-plane, load-balancer]' : '[control-plane]';
    return `    - {name: ${h.name}, address: ${h.address}, roles: ${roles}, interface: ${h.interface}, os: debian12, ssh: {hostKeyFingerprint: "${h.hostKeyFingerprint}"}}`;
  });
  return `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: e2e-lb}
spec:
  hosts:
${hosts.join('\n')}
  ssh: {user: airgap, port: 22, privateKeyRef: default}
  controlPlane:
    endpoint: {host: ${vip}, port: ${LB_PORT}}
    loadBalancer: {mode: keepalived-haproxy, virtualRouterId: 51, authPassRef: vrrp, backendPort: ${BACKEND_PORT}}
  network: {hostSubnet: ${tb.network.subnet}}
  offline: {bundleDir: ${BUNDLE_DIR}}
  addons:
    gpuOperator: {enabled: false}
`;
}

export interface LbCluster {
  view: ClusterView;
  secrets: Secrets;
  /** the full plan, and the plan the test applies (LB_PHASES only) */
  fullPlan: Plan;
  plan: Plan;
  /** where the plan's install-packages step reads the load-balancer .debs on each host */
  packageDir: string;
  files: Map<string, string>;
}

/** Spec + the TEST-ONLY secrets (with the test bed's SSH key) -> rendered files and the filtered plan. */
export function lbCluster(tb: Testbed, vip: string, lbCount: number): LbCluster {
  const parsed = parseSpec(lbSpecText(tb, vip, lbCount));
  if (!parsed.ok) throw new Error(`e2e spec invalid:\n${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  const s = parseSecrets(readFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), 'utf8'));
  if (!s.ok) throw new Error('test secrets invalid');
  const secrets: Secrets = { ...s.secrets, sshKeys: { default: { path: tb.privateKeyPath } } };
  const view = deriveView(parsed.spec);
  const rendered = renderView(view, inputsFromSecrets(secrets));
  const fullPlan = planFor(view, inputsFromSecrets(secrets));
  // preflight: the per-host checks; its machine-local step (verifying the bundle on this machine) belongs with the
  // bundle distribution, which the test stands in for by copying the .debs itself
  const plan: Plan = {
    cluster: fullPlan.cluster,
    phases: fullPlan.phases
      .filter((p) => LB_PHASES.includes(p.name))
      .map((p) => (p.name === 'preflight' ? { ...p, steps: p.steps.filter((s) => s.host !== null) } : p)),
  };
  const dirs = new Set(plan.phases.flatMap((p) => p.steps).flatMap((s) => (s.kind === 'install-packages' ? [s.dir] : [])));
  if (dirs.size !== 1) throw new Error(`expected one package directory for the load-balancer group, got ${[...dirs].join(', ')}`);
  return { view, secrets, fullPlan, plan, packageDir: [...dirs][0]!, files: new Map(rendered.map((f) => [outputPath(f), f.content])) };
}

export interface ApplyResult {
  summary: RunSummary;
  events: RunEvent[];
  ms: number;
}

/** One `apply`: fresh SSH executors (as a new CLI process would have), the real runner, the given journal. */
export async function apply(c: LbCluster, journal: Journal): Promise<ApplyResult> {
  const executors = new Map<string, SshExecutor>();
  const events: RunEvent[] = [];
  const t0 = Date.now();
  try {
    const summary = await runPlan({
      plan: c.plan,
      files: c.files,
      executor: (host) => {
        let e = executors.get(host);
        if (!e) {
          const h = c.view.hosts.find((x) => x.name === host);
          if (!h) throw new Error(`no host ${host}`);
          e = sshExecutorForHost(h, c.secrets, { connectTimeoutMs: 15_000 });
          executors.set(host, e);
        }
        return e;
      },
      clusterHost: c.view.firstControlPlane.name,
      journal,
      secrets: secretValues(c.secrets),
      onEvent: (e) => events.push(e),
    });
    return { summary, events, ms: Date.now() - t0 };
  } finally {
    await Promise.all([...executors.values()].map((e) => e.close().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the stand-in apiserver

const STANDIN = fileURLToPath(new URL('./standin-apiserver.py', import.meta.url));
export const STANDIN_FLAG = '/etc/standin-apiserver/unhealthy';
export const STANDIN_LOG = '/var/log/standin-apiserver.log';
const STANDIN_UNIT = `[Unit]
Description=stand-in kube-apiserver for the airgap-k8s HA load-balancer e2e test
After=network.target

[Service]
ExecStart=/usr/bin/python3 /usr/local/lib/standin-apiserver/server.py
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
`;

/** Installs and starts the stand-in on :6443 as a systemd unit (so it comes back when the container restarts). */
export async function installStandin(tb: Testbed, h: TestbedHost): Promise<void> {
  await tb.writeFile(h, '/usr/local/lib/standin-apiserver/server.py', readFileSync(STANDIN), 0o755);
  await tb.exec(h, [
    'sh', '-ec',
    'install -d -m 700 /etc/standin-apiserver; ' +
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" ' +
      '-addext "subjectAltName=DNS:$1,IP:$2" -keyout /etc/standin-apiserver/tls.key -out /etc/standin-apiserver/tls.crt 2>/dev/null',
    'sh', h.name, h.address,
  ]);
  await tb.writeFile(h, '/etc/systemd/system/standin-apiserver.service', STANDIN_UNIT);
  await tb.exec(h, ['systemctl', 'daemon-reload']);
  await tb.exec(h, ['systemctl', 'enable', '--now', 'standin-apiserver.service']);
  await waitFor(`${h.name}: stand-in apiserver on ${h.address}:${BACKEND_PORT}`, async () => {
    const r = await httpsGet(h.address, BACKEND_PORT, '/healthz', 2_000);
    return r.status === 200 ? true : undefined;
  }, { timeoutMs: 20_000, intervalMs: 200 });
}

// ---------------------------------------------------------------------------------------------------------------
// HTTPS from this machine

export interface HttpsAnswer {
  status: number;
  body: string;
  /** the X-Backend header: which stand-in answered */
  backend: string | undefined;
}

/** One GET on a new connection (no keep-alive: each request is a new TCP connection haproxy balances). */
export function httpsGet(address: string, port: number, path: string, timeoutMs = 3_000): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address, port, path, method: 'GET', agent: false, rejectUnauthorized: false, timeout: timeoutMs, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          clearTimeout(timer);
          const b = res.headers['x-backend'];
          resolve({ status: res.statusCode ?? 0, body, backend: typeof b === 'string' ? b : undefined });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    // a hard deadline for the whole exchange (the socket timeout only covers idle periods)
    const timer = setTimeout(() => req.destroy(new Error(`${address}:${port}${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`${address}:${port}${path}: idle for ${timeoutMs} ms`)));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// the VIP

/** Whether the host has the VIP on its interface; a stopped container holds nothing. */
export async function holdsVip(tb: Testbed, h: TestbedHost, vip: string): Promise<boolean> {
  const r = await tb.exec(h, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.interface], { allowFailure: true, timeoutMs: 5_000 });
  return r.exitCode === 0 && r.stdout.includes(` ${vip}/`);
}

export async function vipHolders(tb: Testbed, hosts: readonly TestbedHost[], vip: string): Promise<string[]> {
  const held = await Promise.all(hosts.map(async (h) => ((await holdsVip(tb, h, vip)) ? h.name : undefined)));
  return held.filter((n): n is string => n !== undefined);
}

/**
 * Waits until `want` alone holds the VIP among `hosts`, then checks it stays so for `stableMs` (a split brain
 * shows up as two holders). Returns the ms until it first held alone.
 */
export async function waitSoleHolder(
  tb: Testbed, hosts: readonly TestbedHost[], vip: string, want: TestbedHost, timeoutMs: number, stableMs = 3_000,
): Promise<number> {
  const t0 = Date.now();
  await waitFor(`${want.name} alone holding ${vip}`, async () => {
    const now = await vipHolders(tb, hosts, vip);
    return now.length === 1 && now[0] === want.name ? true : undefined;
  }, { timeoutMs, intervalMs: 100 });
  const ms = Date.now() - t0;
  const until = Date.now() + stableMs;
  while (Date.now() < until) {
    const now = await vipHolders(tb, hosts, vip);
    if (now.length !== 1 || now[0] !== want.name) throw new Error(`VIP ${vip}: expected ${want.name} alone, found [${now.join(', ')}]`);
    await sleep(250);
  }
  return ms;
}

/** Polls until a GET through the VIP answers 200; returns the ms it took. */
export async function waitVipServes(vip: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(`GET https://${vip}:${LB_PORT}/whoami`, async () => {
    const r = await httpsGet(vip, LB_PORT, '/whoami', 1_000);
    return r.status === 200 ? true : undefined;
  }, { timeoutMs, intervalMs: 100 });
  return Date.now() - t0;
}

/** `show stat` of haproxy's admin socket on a host: status per backend server (UP, DOWN, ...). */
export async function haproxyServerStatus(tb: Testbed, h: TestbedHost): Promise<Record<string, string>> {
  const script =
    'import socket\n' +
    's = socket.socket(socket.AF_UNIX)\n' +
    's.settimeout(3)\n' +
    's.connect("/var/lib/haproxy/stats")\n' +
    's.sendall(b"show stat\\n")\n' +
    'out = b""\n' +
    'while True:\n' +
    '    d = s.recv(65536)\n' +
    '    if not d: break\n' +
    '    out += d\n' +
    'print(out.decode())\n';
  const r = await tb.exec(h, ['python3', '-c', script], { timeoutMs: 10_000 });
  const [header, ...rows] = r.stdout.trim().split('\n');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const px = cols.indexOf('pxname');
  const sv = cols.indexOf('svname');
  const st = cols.indexOf('status');
  const out: Record<string, string> = {};
  for (const row of rows) {
    const f = row.split(',');
    if (f[px] === 'apiserver' && f[sv] !== 'BACKEND' && f[sv] !== 'FRONTEND') out[f[sv]!] = f[st]!;
  }
  return out;
}

/** sha256, inode and change time of each file: an unchanged triple means the file was not rewritten at all. */
export async function fileIdentity(tb: Testbed, h: TestbedHost, paths: readonly string[]): Promise<Record<string, string>> {
  const r = await tb.exec(h, ['sh', '-c', 'for f; do printf "%s %s\\n" "$(sha256sum < "$f" | cut -d" " -f1)" "$(stat -c "%i %Z %a %U" "$f")"; done', 'sh', ...paths]);
  const lines = r.stdout.trim().split('\n');
  return Object.fromEntries(paths.map((p, i) => [p, lines[i] ?? '']));
}

/** MainPID of each unit: unchanged means the service was not restarted. */
export async function mainPids(tb: Testbed, h: TestbedHost, units: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const u of units) out[u] = (await tb.exec(h, ['systemctl', 'show', '-p', 'MainPID', '--value', u])).stdout.trim();
  return out;
}
