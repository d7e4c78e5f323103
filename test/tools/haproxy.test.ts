// Every generated haproxy.cfg through the real haproxy (Debian's 2.6.12), then a functional run on loopback.
// - `haproxy -c -dW` (zero-warning mode) on every LB host's file. The rhel8 files use the haproxy 1.8 dialect; 2.6
//   parses that form too, but haproxy 1.8.27 itself is not available here, so what only 1.8 would reject is covered
//   by the unit tests and the goldens, not by this file. The rhel9 files use the 2.2+ dialect for RHEL 9's haproxy
//   2.4, checked by 2.6 standing in for it.
// - Functional: real haproxy, started from a generated config whose control planes are 127.0.0.2-4, in front of small
//   Node HTTPS servers standing in for apiservers. A stand-in answering /healthz with 500 must be taken out of
//   rotation and put back when it answers 200 again, in both dialects; the runbook's backend (httpchk followed by
//   ssl-hello-chk) must NOT notice, which shows the check is what makes the difference. Only loopback addresses.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { filesOf } from '../../src/generators/types.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, get as httpsGet, type Server } from 'node:https';
import { createConnection, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveView } from '../../src/spec/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import { HAPROXY_CFG, STATS_SOCKET, haproxyGenerator } from '../../src/generators/haproxy/haproxy.js';
import type { HostFile } from '../../src/generators/types.js';
import { loadFixture, validFixtureNames } from '../support/fixtures.js';
import { HOST_OSES, osProfile, type HostOs } from '../../src/os/profiles.js';

const work = mkdtempSync(join(tmpdir(), 'haproxy-c-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let seq = 0;

function haproxyCheck(cfg: string, zeroWarnings = true) {
  const file = join(work, `haproxy-${seq++}.cfg`);
  writeFileSync(file, cfg);
  const r = spawnSync('haproxy', ['-c', ...(zeroWarnings ? ['-dW'] : []), '-f', file], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const cases = validFixtureNames().flatMap((fixture) => {
  const view = deriveView(loadFixture(fixture));
  const files = filesOf(haproxyGenerator.units(view, undefined as never)) as HostFile[];
  return view.lbHosts.map((h) => ({ fixture, host: h.name, os: h.os, cfg: files.find((f) => f.host === h.name && f.path === HAPROXY_CFG)!.content }));
});
const rhel = cases.find((c) => c.os === 'rhel8')!;
const debian = cases.find((c) => c.os === 'debian12')!;

describe('haproxy -c -dW (haproxy 2.6.12) on every generated haproxy.cfg', () => {
  beforeAll(() => {
    expect(spawnSync('haproxy', ['-v']).status, 'haproxy missing: run scripts/setup-tools.sh').toBe(0);
  });

  it('covers LB hosts of every host OS', () => {
    for (const os of HOST_OSES) expect(cases.filter((c) => c.os === os).length, os).toBeGreaterThan(0);
  });

  /** What the label says about the haproxy the host runs, against the 2.6 that checks the file here. */
  const standIn = (os: HostOs): string => {
    const { version, dialect } = osProfile(os).haproxy;
    if (version === '2.6') return `${os}, haproxy ${dialect} dialect: valid with zero warnings`;
    if (dialect === '1.8') return `${os}, haproxy 1.8 dialect: haproxy 2.6 accepts it with zero warnings; haproxy 1.8 itself is not available here (1.8 specifics: unit tests and goldens only)`;
    return `${os}, haproxy ${dialect} dialect for haproxy ${version}: valid with zero warnings in haproxy 2.6, standing in for ${version}`;
  };

  for (const c of cases) {
    const label = `${c.fixture}/${c.host} (${standIn(c.os)})`;
    it(label, () => {
      const r = haproxyCheck(c.cfg);
      expect(r.out).not.toMatch(/WARNING|ALERT/);
      expect(r.status).toBe(0);
    });
  }

  describe('negative controls: the same check fails on broken files', () => {
    it("the runbook's `mode http` defaults with `option forwardfor` in a TCP proxy fail -dW", () => {
      const broken = rhel.cfg.replace(/^ {4}mode tcp\n/m, '    mode http\n    option forwardfor except 127.0.0.0/8\n');
      expect(broken).not.toBe(rhel.cfg);
      const r = haproxyCheck(broken);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/forwardfor/);
      // ... and it is only a warning, which is why plain `haproxy -c` would have let the runbook through:
      expect(haproxyCheck(broken, false).status).toBe(0);
    });

    it('a TLS check without `verify none` (and no CA file) is refused', () => {
      const broken = debian.cfg.replaceAll(' check verify none', ' check');
      expect(broken).not.toBe(debian.cfg);
      const r = haproxyCheck(broken);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/verify/);
    });

    it('a misspelt health-check directive is refused', () => {
      const broken = rhel.cfg.replace('http-check expect status 200', 'http-check expect stauts 200');
      expect(broken).not.toBe(rhel.cfg);
      expect(haproxyCheck(broken).status).not.toBe(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Functional: real haproxy in front of stand-in apiservers on loopback.

const STANDINS = [
  { name: 'cp1', address: '127.0.0.2' },
  { name: 'cp2', address: '127.0.0.3' },
  { name: 'cp3', address: '127.0.0.4' },
];

interface Standin {
  name: string;
  server: Server;
  /** the status /healthz answers */
  health: number;
  healthzHits: number;
}

async function freePort(host: string): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((res, rej) => srv.once('error', rej).listen(0, host, () => res()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

/** Poll `probe` until `ok` holds or `ms` pass; returns the last value seen. */
async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < end) {
    await sleep(250);
    v = await probe();
  }
  return v;
}

/** `show stat` over the admin socket: server name -> {status, check_status} for the apiserver backend. */
async function serverStates(socket: string): Promise<Record<string, { status: string; check: string }>> {
  const csv = await new Promise<string>((resolve) => {
    const c = createConnection(socket);
    let buf = '';
    const done = () => resolve(buf);
    c.setTimeout(2000, () => c.destroy());
    c.on('connect', () => c.write('show stat\n'));
    c.on('data', (d) => (buf += d.toString()));
    c.on('close', done);
    c.on('error', () => resolve(''));
  });
  const [header, ...rows] = csv.split('\n').filter(Boolean);
  if (!header) return {};
  const cols = header.replace(/^# /, '').split(',');
  const at = (row: string[], col: string) => row[cols.indexOf(col)] ?? '';
  const out: Record<string, { status: string; check: string }> = {};
  for (const r of rows.map((l) => l.split(','))) {
    if (at(r, 'pxname') === 'apiserver' && STANDINS.some((s) => s.name === at(r, 'svname'))) {
      out[at(r, 'svname')] = { status: at(r, 'status'), check: at(r, 'check_status') };
    }
  }
  return out;
}

/** One HTTPS request through haproxy on a fresh connection; resolves to the stand-in's name, or an error tag. */
function whoami(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpsGet({ host: '127.0.0.1', port, path: '/whoami', rejectUnauthorized: false, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`error:${e.message}`));
  });
}

async function whoamiSet(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await whoami(port));
  return seen;
}

describe('haproxy on loopback: the /healthz check takes a failing apiserver out of rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-run-'));
  const standins: Standin[] = [];
  const running: ChildProcess[] = [];
  let backendPort = 0;

  beforeAll(async () => {
    const keyPem = join(dir, 'key.pem');
    const certPem = join(dir, 'cert.pem');
    const ssl = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPem, '-out', certPem, '-subj', '/CN=apiserver-standin', '-days', '1'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(ssl.status, ssl.stderr).toBe(0);
    const tls = { key: readFileSync(keyPem), cert: readFileSync(certPem) };
    backendPort = await freePort(STANDINS[0]!.address);
    for (const s of STANDINS) {
      const st: Standin = { name: s.name, health: 200, healthzHits: 0, server: undefined as never };
      st.server = createHttpsServer(tls, (req, res) => {
        if (req.url === '/healthz') {
          st.healthzHits++;
          res.writeHead(st.health, { 'content-type': 'text/plain' }).end(st.health === 200 ? 'ok' : 'unhealthy');
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(st.name);
        }
      });
      await new Promise<void>((res, rej) => st.server.once('error', rej).listen(backendPort, s.address, () => res()));
      standins.push(st);
    }
  });

  afterAll(async () => {
    for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
    await Promise.all(standins.map((s) => new Promise<void>((r) => s.server.close(() => r()))));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The generated haproxy.cfg of LB host cp1 for a loopback cluster of `os` hosts. */
  async function loopbackConfig(os: 'rhel8' | 'debian12') {
    const frontendPort = await freePort('127.0.0.1');
    const r = parseSpec({
      apiVersion: 'airgap-k8s/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'loopback' },
      spec: {
        hosts: STANDINS.map((s, i) => ({
          name: s.name,
          address: s.address,
          roles: i < 2 ? ['control-plane', 'load-balancer'] : ['control-plane'],
          interface: 'lo',
          os,
        })),
        controlPlane: { endpoint: { host: '127.0.0.10', port: frontendPort }, loadBalancer: { mode: 'keepalived-haproxy', backendPort } },
        addons: { gpuOperator: { enabled: false } },
      },
    });
    if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    const files = filesOf(haproxyGenerator.units(deriveView(r.spec), undefined as never)) as HostFile[];
    const cfg = files.find((f) => f.host === 'cp1')!.content;
    // The two adaptations for a test machine: listen on loopback only, and the admin socket in the temp dir.
    const socket = join(dir, `stats-${seq++}.sock`);
    const bind = `bind *:${frontendPort}`;
    const stats = `stats socket ${STATS_SOCKET} `;
    expect(cfg).toContain(bind);
    expect(cfg).toContain(stats);
    return { cfg: cfg.replace(bind, `bind 127.0.0.1:${frontendPort}`).replace(stats, `stats socket ${socket} `), socket, frontendPort };
  }

  async function startHaproxy(cfg: string, socket: string): Promise<ChildProcess> {
    const file = join(dir, `run-${seq++}.cfg`);
    writeFileSync(file, cfg);
    const p = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.push(p);
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    const states = await waitFor(() => serverStates(socket), (s) => Object.keys(s).length === 3 || p.exitCode !== null, 10_000);
    expect(Object.keys(states), `haproxy did not come up: ${stderr}`).toHaveLength(3);
    return p;
  }

  async function stop(p: ChildProcess) {
    if (p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }

  const setHealth = (cp1: number, cp2: number, cp3: number) => {
    [cp1, cp2, cp3].forEach((h, i) => (standins[i]!.health = h));
  };
  const statusOf = (s: Record<string, { status: string; check: string }>) =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, `${v.status} ${v.check}`]));

  for (const os of ['debian12', 'rhel8'] as const) {
    const dialect = os === 'debian12' ? '2.x dialect (http-check connect ssl)' : '1.8 dialect (check-ssl), run by haproxy 2.6';
    it(`${dialect}: a stand-in answering 500 goes DOWN (L7STS) and gets no traffic; it comes back at 200`, async () => {
      setHealth(200, 500, 200);
      standins.forEach((s) => (s.healthzHits = 0));
      const { cfg, socket, frontendPort } = await loopbackConfig(os);
      const p = await startHaproxy(cfg, socket);
      try {
        // inter 2s, fall 3, rise 2: DOWN within ~6 s; bounded at 20 s.
        let s = await waitFor(() => serverStates(socket), (x) => x.cp2?.status === 'DOWN' && x.cp1?.status === 'UP' && x.cp3?.status === 'UP', 20_000);
        expect(statusOf(s)).toEqual({ cp1: 'UP L7OK', cp2: 'DOWN L7STS', cp3: 'UP L7OK' });
        expect(await whoamiSet(frontendPort, 12)).toEqual(new Set(['cp1', 'cp3']));

        setHealth(500, 200, 200);
        s = await waitFor(() => serverStates(socket), (x) => x.cp1?.status === 'DOWN' && x.cp2?.status === 'UP', 20_000);
        expect(statusOf(s)).toEqual({ cp1: 'DOWN L7STS', cp2: 'UP L7OK', cp3: 'UP L7OK' });
        expect(await whoamiSet(frontendPort, 12)).toEqual(new Set(['cp2', 'cp3']));
        // The checks really were HTTP GET /healthz over TLS on every backend.
        for (const st of standins) expect(st.healthzHits, st.name).toBeGreaterThan(0);
      } finally {
        await stop(p);
      }
    }, 60_000);
  }

  it("control: the runbook's backend (httpchk, then ssl-hello-chk) keeps the 500 stand-in UP and never asks /healthz", async () => {
    setHealth(200, 500, 200);
    standins.forEach((s) => (s.healthzHits = 0));
    const { cfg, socket, frontendPort } = await loopbackConfig('rhel8');
    const runbookCfg = cfg.replace('http-check expect status 200\n', 'http-check expect status 200\n    option ssl-hello-chk\n').replaceAll(' check check-ssl verify none', ' check');
    expect(runbookCfg).toContain('option ssl-hello-chk');
    const p = await startHaproxy(runbookCfg, socket);
    try {
      // Longer than the 6 s a real /healthz check needs to mark it DOWN (previous tests).
      const s = await waitFor(() => serverStates(socket), (x) => x.cp2?.status === 'DOWN', 9_000);
      expect(s.cp2?.status).toBe('UP');
      expect(standins[1]!.healthzHits).toBe(0);
      expect(await whoamiSet(frontendPort, 9)).toContain('cp2');
    } finally {
      await stop(p);
    }
  }, 60_000);
});
