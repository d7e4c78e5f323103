// The generated scripts, run for real: prepare-os.sh against a scratch root (AIRGAP_ROOT) with the commands that
// touch the running system replaced by stubs on PATH, and firewall.sh against a stub firewall-cmd that keeps its
// permanent configuration in a file. Each script runs under dash (POSIX sh) and bash, as /bin/sh is on Debian and RHEL.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderView } from '../index.js';
import { hostsGenerator, HOSTS_BEGIN, HOSTS_END } from '../hosts/hosts.js';
import { deriveView, type ClusterView } from '../../spec/derive.js';
import type { ClusterSpec } from '../../spec/schema.js';
import { loadFixture, testInputs } from '../../../test/support/fixtures.js';
import { firewallGenerator, osGenerator } from './index.js';
import { FIREWALL_PATH, firewallRules, ruleArgs } from './firewall.js';
import { KERNEL_MODULES, SYSCTLS } from './kernel.js';
import { BACKUP_SUFFIX, HOSTS_FRAGMENT_PATH, PREPARE_OS_PATH } from './prepare.js';

const SHELLS = ['sh', 'bash'] as const;
const LIVE_STEPS = 'swap selinux modules sysctl hostname';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Sandbox {
  root: string;
  bin: string;
  state: string;
  calls: string;
}

function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'airgap-os-'));
  dirs.push(dir);
  const sb = { root: join(dir, 'root'), bin: join(dir, 'bin'), state: join(dir, 'state'), calls: join(dir, 'calls.log') };
  for (const d of [sb.root, sb.bin, sb.state]) mkdirSync(d);
  writeFileSync(sb.calls, '');
  return sb;
}

function put(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

/** A command on PATH that logs its arguments to $CALLS and runs `body` (with $STATE, a directory, for state). */
function stub(sb: Sandbox, name: string, body: string): void {
  put(join(sb.bin, name), `#!/bin/sh\necho "${name} $*" >>"$CALLS"\n${body}\n`, 0o755);
}

/** Place every file the OS generators render for `host` below the scratch root, as an apply would. */
function applyHostFiles(sb: Sandbox, view: ClusterView, host: string): void {
  for (const f of renderView(view, testInputs(), [hostsGenerator, osGenerator, firewallGenerator])) {
    if (f.kind === 'host' && f.host === host) put(join(sb.root, f.path), f.content, f.mode);
  }
}

function run(sb: Sandbox, shell: string, script: string, env: Record<string, string> = {}) {
  const r = spawnSync(shell, [join(sb.root, script)], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: `${sb.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, STATE: sb.state, CALLS: sb.calls, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function calls(sb: Sandbox): string[] {
  return readFileSync(sb.calls, 'utf8').split('\n').filter(Boolean);
}

function view(name: string, edit?: (s: ClusterSpec) => void): ClusterView {
  const spec = loadFixture(name);
  edit?.(spec);
  return deriveView(spec);
}

const read = (sb: Sandbox, p: string) => readFileSync(join(sb.root, p), 'utf8');

describe.each(SHELLS)('prepare-os.sh under %s', (shell) => {
  const ha = view('runbook-ha');
  const HOST_OWN = ['127.0.0.1   localhost localhost.localdomain', '::1         localhost6', '10.9.9.9    ntp.example.internal'];
  const OLD_BLOCK = [HOSTS_BEGIN, '# an older render', '55.192.0.99 master9', HOSTS_END];

  it('replaces an old /etc/hosts block in place, keeps the host lines, and a second run changes nothing', () => {
    const sb = sandbox();
    applyHostFiles(sb, ha, 'master1');
    const original = [HOST_OWN[0], HOST_OWN[1], ...OLD_BLOCK, HOST_OWN[2], ''].join('\n');
    put(join(sb.root, 'etc/hosts'), original);

    const first = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const fragment = read(sb, HOSTS_FRAGMENT_PATH);
    const merged = read(sb, 'etc/hosts');
    expect(merged).toBe(`${HOST_OWN[0]}\n${HOST_OWN[1]}\n${fragment}${HOST_OWN[2]}\n`);
    expect(merged).not.toContain('master9');
    for (const h of ha.hosts) expect(merged).toMatch(new RegExp(`^${h.address.replaceAll('.', '\\.')} +${h.name}$`, 'm'));
    expect(read(sb, `etc/hosts${BACKUP_SUFFIX}`)).toBe(original);
    expect(first.stdout).toContain('hosts: wrote the airgap-k8s block');
    // the live steps were skipped, so nothing ran
    expect(calls(sb)).toEqual([]);

    const second = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS });
    expect(second.status).toBe(0);
    expect(read(sb, 'etc/hosts')).toBe(merged);
    expect(read(sb, `etc/hosts${BACKUP_SUFFIX}`)).toBe(original);
    expect(second.stdout).toContain('is up to date');
  });

  it('appends the block when /etc/hosts has none (and tolerates a missing final newline and CRLF markers)', () => {
    const sb = sandbox();
    applyHostFiles(sb, ha, 'master2');
    put(join(sb.root, 'etc/hosts'), `${HOST_OWN[0]}\n${HOST_OWN[1]}`);
    expect(run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS }).status).toBe(0);
    const fragment = read(sb, HOSTS_FRAGMENT_PATH);
    expect(read(sb, 'etc/hosts')).toBe(`${HOST_OWN[0]}\n${HOST_OWN[1]}\n${fragment}`);

    // a block whose marker lines were saved with CRLF is still recognised and replaced
    put(join(sb.root, 'etc/hosts'), `${HOST_OWN[0]}\n${HOSTS_BEGIN}\r\nold\r\n${HOSTS_END}\r\n`);
    expect(run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS }).status).toBe(0);
    expect(read(sb, 'etc/hosts')).toBe(`${HOST_OWN[0]}\n${fragment}`);
  });

  it('refuses a begin marker without an end marker and leaves /etc/hosts untouched', () => {
    const sb = sandbox();
    applyHostFiles(sb, ha, 'master1');
    const broken = `${HOST_OWN[0]}\n${HOSTS_BEGIN}\n55.192.0.99 master9\n${HOST_OWN[2]}\n`;
    put(join(sb.root, 'etc/hosts'), broken);
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`without '${HOSTS_END}'`);
    expect(read(sb, 'etc/hosts')).toBe(broken);
    expect(existsSync(join(sb.root, 'etc/hosts.airgap-k8s.tmp'))).toBe(false);
  });

  it('comments out swap in fstab with a backup, keeps other lines, and SELinux config becomes permissive through a symlink', () => {
    const sb = sandbox();
    applyHostFiles(sb, ha, 'master1');
    put(join(sb.root, 'etc/hosts'), '');
    const fstab = [
      '# /etc/fstab',
      '/dev/mapper/rhel-root   /     xfs   defaults 0 0',
      '/dev/mapper/rhel-swap   none  swap  defaults 0 0',
      '  UUID=1234-abcd        none  swap  sw       0 0',
      '#/dev/sdb2              none  swap  sw       0 0',
      '/swapfile               /data/swap xfs defaults 0 0',
      '',
    ].join('\n');
    put(join(sb.root, 'etc/fstab'), fstab);
    const selinux = 'SELINUX=enforcing\nSELINUXTYPE=targeted\n';
    put(join(sb.root, 'etc/selinux/config'), selinux);
    mkdirSync(join(sb.root, 'etc/sysconfig'));
    symlinkSync('../selinux/config', join(sb.root, 'etc/sysconfig/selinux'));

    const first = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const after = read(sb, 'etc/fstab').split('\n');
    expect(after[1]).toBe('/dev/mapper/rhel-root   /     xfs   defaults 0 0');
    expect(after[2]).toMatch(/^#.*\/dev\/mapper\/rhel-swap\s+none\s+swap/);
    expect(after[3]).toMatch(/^#.*UUID=1234-abcd\s+none\s+swap/);
    expect(after[4]).toBe('#/dev/sdb2              none  swap  sw       0 0');
    expect(after[5]).toBe('/swapfile               /data/swap xfs defaults 0 0');
    expect(read(sb, `etc/fstab${BACKUP_SUFFIX}`)).toBe(fstab);
    expect(read(sb, 'etc/selinux/config')).toBe('SELINUX=permissive\nSELINUXTYPE=targeted\n');
    expect(lstatSync(join(sb.root, 'etc/sysconfig/selinux')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(sb.root, 'etc/sysconfig/selinux'))).toBe('../selinux/config');

    const snapshot = ['etc/fstab', 'etc/selinux/config', 'etc/hosts'].map((p) => read(sb, p));
    const second = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: LIVE_STEPS });
    expect(second.status).toBe(0);
    expect(['etc/fstab', 'etc/selinux/config', 'etc/hosts'].map((p) => read(sb, p))).toEqual(snapshot);
    expect(second.stdout).toContain('fstab: no active swap entries');
    expect(second.stdout).toContain('is not set to enforcing');
  });

  /** Stubs for the live steps, with their state in files: a host with swap on, SELinux enforcing, another name. */
  function liveStubs(sb: Sandbox, sysctlValue = '1'): void {
    put(join(sb.state, 'swaps'), '/dev/dm-1\n');
    put(join(sb.state, 'enforce'), 'Enforcing\n');
    put(join(sb.state, 'hostname'), 'localhost\n');
    stub(sb, 'swapon', 'cat "$STATE/swaps"');
    stub(sb, 'swapoff', ': >"$STATE/swaps"');
    stub(sb, 'getenforce', 'cat "$STATE/enforce"');
    stub(sb, 'setenforce', 'echo Permissive >"$STATE/enforce"');
    stub(sb, 'modprobe', ':');
    stub(sb, 'sysctl', `[ "$1" = -n ] && echo ${sysctlValue}; exit 0`);
    stub(sb, 'hostname', 'cat "$STATE/hostname"');
    stub(sb, 'hostnamectl', 'echo "$2" >"$STATE/hostname"');
  }

  it('runs every live step once on a fresh host, and on the second run calls none of the commands that change it', () => {
    const sb = sandbox();
    liveStubs(sb);
    applyHostFiles(sb, ha, 'master1');
    put(join(sb.root, 'etc/hosts'), `${HOST_OWN[0]}\n`);
    // a kernel without the modules yet (an empty /sys and /proc): each is modprobe'd
    const kernel = { AIRGAP_ROOT: sb.root, AIRGAP_KERNEL_ROOT: join(sb.root, 'no-kernel') };
    const first = run(sb, shell, PREPARE_OS_PATH, kernel);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const c1 = calls(sb);
    expect(c1).toContain('swapoff -a');
    expect(c1).toContain('setenforce 0');
    expect(c1).toContain('hostnamectl set-hostname master1');
    for (const m of KERNEL_MODULES) expect(c1).toContain(`modprobe ${m.name}`);
    expect(c1).toContain('sysctl --system');
    for (const s of SYSCTLS) expect(c1).toContain(`sysctl -n ${s.key}`);

    writeFileSync(sb.calls, '');
    const second = run(sb, shell, PREPARE_OS_PATH, kernel);
    expect(second.status).toBe(0);
    const c2 = calls(sb);
    expect(c2.filter((c) => /^(swapoff|setenforce|hostnamectl)\b/.test(c))).toEqual([]);
    expect(second.stdout).toContain('swap: already off');
    expect(second.stdout).toContain('selinux: not enforcing');
    expect(second.stdout).toContain('hostname: already master1');
  });

  it('leaves modules that are built into the kernel alone (no /sys/module entry, no /lib/modules: modprobe would fail)', () => {
    const sb = sandbox();
    liveStubs(sb);
    stub(sb, 'modprobe', 'exit 1');
    applyHostFiles(sb, ha, 'master1');
    const k = join(sb.root, 'kernel');
    // as measured on this project's CI kernel: overlay listed in /proc/filesystems and /sys/module, br_netfilter only
    // visible through /proc/sys/net/bridge
    put(join(k, 'proc/filesystems'), 'nodev\tsysfs\nnodev\toverlay\n');
    mkdirSync(join(k, 'proc/sys/net/bridge'), { recursive: true });
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_KERNEL_ROOT: k, AIRGAP_SKIP: 'swap selinux sysctl hostname' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(calls(sb).filter((c) => c.startsWith('modprobe'))).toEqual([]);
    for (const m of KERNEL_MODULES) expect(r.stdout).toContain(`modules: ${m.name} already in the kernel`);
  });

  it('fails naming the module when it is neither in the kernel nor loadable', () => {
    const sb = sandbox();
    liveStubs(sb);
    stub(sb, 'modprobe', 'exit 1');
    applyHostFiles(sb, ha, 'master1');
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_KERNEL_ROOT: join(sb.root, 'no-kernel'), AIRGAP_SKIP: 'swap selinux sysctl hostname' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('modules: overlay is not in the kernel and modprobe overlay failed');
  });

  it('takes the hostname from the first non-comment line of /etc/hostname', () => {
    const sb = sandbox();
    liveStubs(sb);
    applyHostFiles(sb, ha, 'master3');
    put(join(sb.root, 'etc/hostname'), '# set by hand\n\nmaster3\n');
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root, AIRGAP_SKIP: 'swap selinux modules sysctl' });
    expect(r.status).toBe(0);
    expect(calls(sb)).toEqual(['hostname ', 'hostnamectl set-hostname master3']);
  });

  it('fails naming the keys when another sysctl file overrides ours', () => {
    const sb = sandbox();
    liveStubs(sb, '0');
    applyHostFiles(sb, ha, 'master1');
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root });
    expect(r.status).toBe(1);
    for (const s of SYSCTLS) expect(r.stderr).toContain(s.key);
    // it stopped there: the later steps did not run
    expect(calls(sb).some((c) => c.startsWith('hostnamectl'))).toBe(false);
  });

  it('on a Debian load-balancer-only host touches neither swap, SELinux, modules nor sysctls', () => {
    const sb = sandbox();
    liveStubs(sb);
    applyHostFiles(sb, view('debian12'), 'lb1');
    put(join(sb.root, 'etc/hosts'), '');
    const r = run(sb, shell, PREPARE_OS_PATH, { AIRGAP_ROOT: sb.root });
    expect(r.status).toBe(0);
    expect(calls(sb)).toEqual(['hostname ', 'hostnamectl set-hostname lb1']);
  });
});

/**
 * firewall-cmd stand-in: `--state` answers from $STATE/running; permanent --query-X/--add-X read and append
 * "zone X value" lines in $STATE/permanent; every call is logged.
 */
function firewallStub(sb: Sandbox, running: boolean): void {
  put(join(sb.state, 'permanent'), '');
  if (running) put(join(sb.state, 'running'), '');
  stub(
    sb,
    'firewall-cmd',
    `case "$*" in
  --state) [ -e "$STATE/running" ] && { echo running; exit 0; }; echo "not running"; exit 252 ;;
  --get-zone-of-interface=*) echo public; exit 0 ;;
  --get-default-zone) echo public; exit 0 ;;
  --reload) echo success; exit 0 ;;
esac
zone=""; op=""; item=""
for a in "$@"; do
  case $a in
    --zone=*) zone=\${a#--zone=} ;;
    --query-*) op=query; item=\${a#--query-} ;;
    --add-*) op=add; item=\${a#--add-} ;;
  esac
done
line="$zone $(echo "$item" | sed 's/=/ /')"
case $op in
  query) grep -qxF -- "$line" "$STATE/permanent" ;;
  add) echo "$line" >>"$STATE/permanent" ;;
  *) echo "stub: unexpected $*" >&2; exit 2 ;;
esac`,
  );
}

describe.each(SHELLS)('firewall.sh under %s', (shell) => {
  const ha = view('runbook-ha');

  for (const host of ['master1', 'master3', 'gpu1']) {
    it(`${host}: adds exactly its rules and reloads once; a second run adds nothing and does not reload`, () => {
      const sb = sandbox();
      firewallStub(sb, true);
      applyHostFiles(sb, ha, host);
      const first = run(sb, shell, FIREWALL_PATH);
      expect(first.stderr).toBe('');
      expect(first.status).toBe(0);
      const h = ha.hosts.find((x) => x.name === host)!;
      const expected = firewallRules(ha, h).map((r) => {
        const a = ruleArgs(r);
        return `${a.zone === 'trusted' ? 'trusted' : 'public'} ${a.what} ${a.value}`;
      });
      expect(readFileSync(join(sb.state, 'permanent'), 'utf8').split('\n').filter(Boolean)).toEqual(expected);
      expect(calls(sb).filter((c) => c === 'firewall-cmd --reload')).toHaveLength(1);

      writeFileSync(sb.calls, '');
      const second = run(sb, shell, FIREWALL_PATH);
      expect(second.status).toBe(0);
      expect(second.stdout).toContain('up to date');
      expect(calls(sb).filter((c) => / --add-|--reload/.test(c))).toEqual([]);
      expect(readFileSync(join(sb.state, 'permanent'), 'utf8').split('\n').filter(Boolean)).toEqual(expected);
    });
  }

  it('does nothing but say so when firewalld is not running', () => {
    const sb = sandbox();
    firewallStub(sb, false);
    applyHostFiles(sb, ha, 'master1');
    const r = run(sb, shell, FIREWALL_PATH);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('firewalld is not running; skipped');
    expect(calls(sb)).toEqual(['firewall-cmd --state']);
  });
});
