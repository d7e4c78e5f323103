// Every systemd unit file we generate through the real `systemd-analyze verify` (Debian's systemd 252; RHEL 8 has
// 239, RHEL 9 252: the units keep to keys both read), every snapshot schedule of the fixtures and the README through
// `systemd-analyze calendar`, and the snapshot script through shellcheck (POSIX sh and bash).
// verify fails when ExecStart's program is missing or not executable, so each check runs in a private mount namespace
// (unshare -m) with a tmpfs over /usr/local/lib holding the generated scripts at their real paths; the machine's
// /usr/local/lib is never written. verify exits 0 on some problems it only reports ("Failed to parse service type,
// ignoring"), so a pass is exit 0 AND no output. Negative controls prove the checks reject broken files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster, type HostFile } from '../../src/generators/index.js';
import { SYSTEMD_UNIT_DIR } from '../../src/host-paths.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'systemd-verify-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let seq = 0;

const SCRIPTS = '/usr/local/lib';

/** systemd-analyze verify on `units` (name -> text), with `scripts` (absolute path under /usr/local/lib -> text) in place. */
function verify(units: Record<string, string>, scripts: Record<string, string>) {
  const dir = join(work, `case-${seq++}`);
  const unitDir = join(dir, 'units');
  const scriptDir = join(dir, 'scripts');
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(scriptDir, { recursive: true });
  for (const [name, text] of Object.entries(units)) writeFileSync(join(unitDir, name), text);
  const pairs: string[] = [];
  Object.entries(scripts).forEach(([path, text], i) => {
    if (!path.startsWith(`${SCRIPTS}/`)) throw new Error(`${path} is not under ${SCRIPTS}`);
    writeFileSync(join(scriptDir, String(i)), text, { mode: 0o755 });
    pairs.push(join(scriptDir, String(i)), path);
  });
  // $1 the unit dir, then source/destination pairs; the units are verified by their paths (verify adds their directory
  // to the unit search path, so the timer finds its service)
  const inner = [
    'set -e',
    `mount -t tmpfs -o mode=0755 tmpfs ${SCRIPTS}`,
    'units=$1; shift',
    'while [ $# -gt 0 ]; do install -D -m 0755 "$1" "$2"; shift 2; done',
    'exec systemd-analyze verify "$units"/*',
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', inner, 'sh', unitDir, ...pairs], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

const calendar = (expr: string) => spawnSync('systemd-analyze', ['calendar', expr], { encoding: 'utf8', timeout: 10_000 });

interface Case {
  fixture: string;
  host: string;
  units: Record<string, string>;
  scripts: Record<string, string>;
}

const cases: Case[] = validFixtureNames().flatMap((fixture) => {
  const files = renderCluster(loadFixture(fixture), testInputs()).filter((f): f is HostFile => f.kind === 'host');
  const hosts = [...new Set(files.filter((f) => f.path.startsWith(`${SYSTEMD_UNIT_DIR}/`)).map((f) => f.host))];
  return hosts.map((host) => {
    const mine = files.filter((f) => f.host === host);
    return {
      fixture,
      host,
      units: Object.fromEntries(mine.filter((f) => f.path.startsWith(`${SYSTEMD_UNIT_DIR}/`)).map((f) => [basename(f.path), f.content])),
      scripts: Object.fromEntries(mine.filter((f) => f.path.startsWith(`${SCRIPTS}/`)).map((f) => [f.path, f.content])),
    };
  });
});
const schedules = [...new Set(validFixtureNames().map((n) => loadFixture(n).spec.etcd.snapshots).filter((s) => s.enabled).map((s) => s.schedule))];

describe('systemd-analyze verify on every generated systemd unit', () => {
  beforeAll(() => {
    for (const tool of ['systemd-analyze', 'unshare']) {
      expect(spawnSync('sh', ['-c', `command -v ${tool}`]).status, `${tool} missing: run scripts/setup-tools.sh`).toBe(0);
    }
    expect(process.getuid?.(), 'a mount namespace needs root').toBe(0);
  });

  it('covers the control planes of the fixtures with snapshots, each with a service and a timer', () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
    for (const c of cases) expect(Object.keys(c.units).sort(), `${c.fixture}/${c.host}`).toEqual(['airgap-k8s-etcd-snapshot.service', 'airgap-k8s-etcd-snapshot.timer']);
  });

  for (const c of cases) {
    it(`${c.fixture}/${c.host}: exits 0 without a word`, () => {
      const r = verify(c.units, c.scripts);
      expect(r.out, 'systemd-analyze verify output').toBe('');
      expect(r.status).toBe(0);
    });
  }

  describe('negative controls: the same check fails on broken units', () => {
    const c = cases[0]!;
    const edit = (name: string, from: RegExp, to: string) => {
      const text = c.units[name]!.replace(from, to);
      expect(text).not.toBe(c.units[name]);
      return { ...c.units, [name]: text };
    };

    it('a calendar systemd cannot read: reported, and the timer refused', () => {
      const r = verify(edit('airgap-k8s-etcd-snapshot.timer', /^OnCalendar=.*$/m, 'OnCalendar=Mon..Fri 25:99'), c.scripts);
      expect(r.out).toMatch(/Failed to parse calendar specification/);
      expect(r.status).not.toBe(0);
    });

    it('a misspelt service type: reported (verify still exits 0, so the output decides)', () => {
      const r = verify(edit('airgap-k8s-etcd-snapshot.service', /^Type=oneshot$/m, 'Type=oneshoot'), c.scripts);
      expect(r.out).toMatch(/Failed to parse service type/);
    });

    it('the script missing from its path: refused', () => {
      const r = verify(c.units, {});
      expect(r.out).toMatch(/is not executable|No such file/);
      expect(r.status).not.toBe(0);
    });
  });
});

describe('systemd-analyze calendar on the snapshot schedules', () => {
  // the fixtures' and the README's examples (src/spec/schema.ts lets through their character set only)
  const examples = [...new Set([...schedules, 'daily', 'Mon..Fri 02:00', '*-*-* 03:15:00', 'Sat,Sun 04:00 UTC', '*:0/30', '*-*~01 05:00'])];

  it('includes the fixtures\' own schedules', () => {
    expect(schedules.length).toBeGreaterThanOrEqual(2);
  });

  for (const expr of examples) {
    it(`accepts ${JSON.stringify(expr)}`, () => {
      const r = calendar(expr);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('negative control: refuses an impossible time', () => {
    expect(calendar('Mon..Fri 25:99').status).not.toBe(0);
  });
});

describe('shellcheck on the snapshot script', () => {
  const scripts = [...new Set(cases.flatMap((c) => Object.values(c.scripts)))];

  it('has scripts to check', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(1);
    expect(spawnSync('sh', ['-c', 'command -v shellcheck']).status, 'shellcheck missing: run scripts/setup-tools.sh').toBe(0);
  });

  for (const shell of ['sh', 'bash']) {
    it(`finds nothing as ${shell}`, () => {
      for (const s of scripts) {
        const file = join(work, `script-${seq++}.sh`);
        writeFileSync(file, s);
        const r = spawnSync('shellcheck', ['-s', shell, file], { encoding: 'utf8' });
        expect(r.stdout).toBe('');
        expect(r.status).toBe(0);
      }
    });
  }
});
