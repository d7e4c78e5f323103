// Every generated keepalived.conf through the real `keepalived -t` (Debian's 2.2.7; RHEL 8 has 2.1.5 and the
// generator keeps to its syntax). keepalived -t fails when the config's interface does not exist or the vrrp_script
// is missing, so each check runs
//   - in a network namespace made for it, holding a veth whose one end carries the config's interface name
//     (this kernel has no dummy driver), deleted afterwards;
//   - in a private mount namespace (unshare -m) with a tmpfs over /etc/keepalived holding the generated
//     check_apiserver.sh (0755, root), because the script path in the config is absolute. The machine's real /etc is
//     never written.
// Negative controls prove the checker rejects broken files, so a pass means something.
import { spawnSync } from 'node:child_process';
import { filesOf } from '../../src/generators/types.js';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveView } from '../../src/spec/derive.js';
import { CHECK_SCRIPT, KEEPALIVED_CONF, keepalivedGenerator } from '../../src/generators/keepalived/keepalived.js';
import type { HostFile } from '../../src/generators/types.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { HOST_OSES, osProfile, type HostOs } from '../../src/os/profiles.js';

const work = mkdtempSync(join(tmpdir(), 'keepalived-t-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let seq = 0;
const netnsName = () => `akt${process.pid}x${seq++}`;

function sh(cmd: string, args: string[], timeout = 20_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** A network namespace with a veth end named `iface` (and optional IPv4 addresses on it); removed by the caller. */
function makeNetns(iface: string, addrs: string[] = []): string {
  const ns = netnsName();
  const peer = iface === 'aktpeer' ? 'aktpeer2' : 'aktpeer';
  for (const args of [['netns', 'add', ns], ['-n', ns, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', peer], ...addrs.map((a) => ['-n', ns, 'addr', 'add', a, 'dev', iface])]) {
    const r = sh('ip', args);
    if (r.status !== 0) {
      sh('ip', ['netns', 'del', ns]);
      throw new Error(`ip ${args.join(' ')}: ${r.out}`);
    }
  }
  return ns;
}

/**
 * Run `cmd` inside netns `ns` and a private mount namespace whose /etc/keepalived is a tmpfs; the check script (if
 * given) is installed there at its real path. Arguments travel as positional parameters, never spliced into the shell.
 */
function inNamespaces(ns: string, checkScript: string | undefined, cmd: string[], env: Record<string, string> = {}) {
  const scriptSrc = join(work, `check-${seq++}.sh`);
  if (checkScript !== undefined) writeFileSync(scriptSrc, checkScript, { mode: 0o700 });
  const inner = [
    'set -e',
    'mount -t tmpfs -o mode=0755 tmpfs /etc/keepalived',
    `if [ -n "$1" ]; then install -m 0755 -o root -g root "$1" ${CHECK_SCRIPT}; fi`,
    'ns=$2; shift 2',
    'exec ip netns exec "$ns" "$@"',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', inner, 'sh', checkScript === undefined ? '' : scriptSrc, ns, ...cmd], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** keepalived -t on `conf` in a fresh netns whose veth end is named `iface`. */
function keepalivedT(conf: string, checkScript: string | undefined, iface: string) {
  const file = join(work, `keepalived-${seq++}.conf`);
  writeFileSync(file, conf, { mode: 0o600 });
  const ns = makeNetns(iface);
  try {
    return inNamespaces(ns, checkScript, ['keepalived', '-t', '-f', file]);
  } finally {
    sh('ip', ['netns', 'del', ns]);
  }
}

interface Case {
  fixture: string;
  host: string;
  os: HostOs;
  iface: string;
  conf: string;
  script: string;
}

const cases: Case[] = validFixtureNames().flatMap((fixture) => {
  const view = deriveView(loadFixture(fixture));
  const files = filesOf(keepalivedGenerator.units(view, testInputs())) as HostFile[];
  return view.lbHosts.map((h) => ({
    fixture,
    host: h.name,
    os: h.os,
    iface: h.interface!,
    conf: files.find((f) => f.host === h.name && f.path === KEEPALIVED_CONF)!.content,
    script: files.find((f) => f.host === h.name && f.path === CHECK_SCRIPT)!.content,
  }));
});
const runbook = cases.find((c) => c.fixture === 'runbook-ha' && c.host === 'master1')!;

describe('keepalived -t (keepalived 2.2.7) on every generated keepalived.conf', () => {
  beforeAll(() => {
    for (const tool of ['keepalived', 'ip', 'unshare']) {
      expect(sh('sh', ['-c', `command -v ${tool}`]).status, `${tool} missing: run scripts/setup-tools.sh`).toBe(0);
    }
    expect(existsSync('/etc/keepalived'), '/etc/keepalived (created by the keepalived package) is the tmpfs mount point').toBe(true);
    expect(process.getuid?.(), 'network and mount namespaces need root').toBe(0);
  });

  it('covers every LB host of every fixture with a load balancer, both multicast and unicast', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    expect(cases.some((c) => c.conf.includes('unicast_peer'))).toBe(true);
    expect(cases.some((c) => !c.conf.includes('unicast_peer'))).toBe(true);
    expect(cases.some((c) => c.conf.includes('notify_master'))).toBe(true);
    for (const os of HOST_OSES) expect(cases.some((c) => c.os === os), os).toBe(true);
  });

  for (const c of cases) {
    it(`${c.fixture}/${c.host} (${c.os}: keepalived ${osProfile(c.os).keepalived} there, 2.2.7 here): exits 0 without a warning`, () => {
      const r = keepalivedT(c.conf, c.script, c.iface);
      expect(r.stderr.trim(), 'keepalived -t output').toBe('');
      expect(r.status).toBe(0);
    });
  }

  describe('negative controls: the same check fails on broken files', () => {
    it('auth_pass longer than 8 characters (keepalived truncates it): exit 5', () => {
      const broken = runbook.conf.replace(/auth_pass "([^"]+)"/, 'auth_pass "$1x"');
      expect(broken).not.toBe(runbook.conf);
      const r = keepalivedT(broken, runbook.script, runbook.iface);
      expect(r.status).toBe(5);
      expect(r.stderr).toMatch(/Truncating auth_pass/);
    });

    it('without enable_script_security: exit 6 (SECURITY VIOLATION)', () => {
      const broken = runbook.conf.replace(/^\s*enable_script_security\n/m, '');
      expect(broken).not.toBe(runbook.conf);
      const r = keepalivedT(broken, runbook.script, runbook.iface);
      expect(r.status).toBe(6);
      expect(r.stderr).toMatch(/SECURITY VIOLATION/);
    });

    it('the interface missing from the namespace: non-zero', () => {
      const r = keepalivedT(runbook.conf, runbook.script, 'other0');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/interface ens0 .*doesn't exist/);
    });

    it('the check script missing: non-zero', () => {
      const r = keepalivedT(runbook.conf, undefined, runbook.iface);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/check_apiserver .*not found/);
    });

    it("the runbook's own keepalived.conf fails (vrrp_script without enable_script_security)", () => {
      const runbookConf = [
        'global_defs {', '    router_id LVS_DEVEL', '}',
        'vrrp_script check_apiserver {', '  script "/etc/keepalived/check_apiserver.sh"', '  interval 3', '  weight -2', '  fall 10', '  rise 2', '}',
        'vrrp_instance VI_1 {', '    state BACKUP', '    interface ens0', '    virtual_router_id 51', '    priority 100',
        '    authentication {', '        auth_type PASS', '        auth_pass k8s', '    }',
        '    virtual_ipaddress {', '        55.192.0.1', '    }',
        '    track_script {', '        check_apiserver', '    }', '}', '',
      ].join('\n');
      const r = keepalivedT(runbookConf, runbook.script, 'ens0');
      expect(r.status).toBe(6);
    });
  });
});

describe('check_apiserver.sh against the real `ip -o -4 addr show` (curl stubbed; no traffic leaves the namespace)', () => {
  const bin = join(work, 'stub-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'curl'), '#!/bin/sh\nfor a in "$@"; do case "$a" in https://*) url=$a;; esac; done\necho "$url" >> "$CURL_LOG"\nexit 0\n');
  chmodSync(join(bin, 'curl'), 0o755);

  function probes(addrs: string[]): { status: number | null; urls: string[]; stderr: string } {
    const log = join(work, `curl-${seq++}.log`);
    writeFileSync(log, '');
    const ns = makeNetns(runbook.iface, addrs);
    try {
      const r = inNamespaces(ns, runbook.script, ['sh', CHECK_SCRIPT], { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, CURL_LOG: log });
      return { status: r.status, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean), stderr: r.stderr };
    } finally {
      sh('ip', ['netns', 'del', ns]);
    }
  }
  const LOCAL = 'https://localhost:6553/healthz';
  const VIP = 'https://55.192.0.1:6553/healthz';

  it('not holding the VIP (only 55.192.0.10 and the host address): probes localhost only', () => {
    expect(probes(['55.192.0.125/24', '55.192.0.10/24'])).toMatchObject({ status: 0, urls: [LOCAL] });
  });

  it('holding the VIP: probes localhost and the VIP', () => {
    expect(probes(['55.192.0.125/24', '55.192.0.1/24'])).toMatchObject({ status: 0, urls: [LOCAL, VIP] });
  });
});
