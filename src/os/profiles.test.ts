// The OS profile table: every entry complete and consistent with itself and with the code that reads it, and a
// rhel9 spec rendered, planned and bundled as a RHEL 9 host needs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { FIXTURES, loadFixture, testInputs } from '../../test/support/fixtures.js';
import { bundleContents } from '../bundle/contents.js';
import { packageExtension } from '../bundle/layout.js';
import { HAPROXY_CFG } from '../generators/haproxy/haproxy.js';
import { renderCluster } from '../generators/index.js';
import { KEEPALIVED_CONF } from '../generators/keepalived/keepalived.js';
import { gpuOperatorAddon } from '../generators/manifests/gpu-operator/gpu-operator.js';
import { FIREWALL_PATH } from '../generators/os/firewall.js';
import { PREPARE_OS_PATH, prepareSteps } from '../generators/os/prepare.js';
import { buildPlan, PREFLIGHT_SCRIPT } from '../plan/build.js';
import { asDebianNodes } from '../rehearse/remap.js';
import { deriveView } from '../spec/derive.js';
import { parseSpec } from '../spec/load.js';
import { HostOS } from '../spec/schema.js';
import { HOST_OSES, OS_PROFILES, PACKAGE_MANAGERS, osProfile, type HostOs } from './profiles.js';

const minor = (v: string) => v.split('.').map(Number) as [number, number];
const atLeast = (v: string, floor: string) => {
  const [a, b] = minor(v);
  const [x, y] = minor(floor);
  return a > x || (a === x && b >= y);
};

describe('OS_PROFILES: every entry complete and consistent', () => {
  it('the spec enum lists exactly the table keys', () => {
    expect(HostOS.options).toEqual(HOST_OSES);
    expect(HOST_OSES).toEqual(Object.keys(OS_PROFILES));
  });

  for (const os of HOST_OSES) {
    const p = osProfile(os);
    it(`${os}: names, os-release, packages, services, GPU tag and rehearsal agree`, () => {
      expect(p.displayName).toMatch(/^[A-Z][A-Za-z]+ \d+$/);
      expect(p.displayName.endsWith(` ${p.osRelease.versionMajor}`)).toBe(true);
      expect(p.osRelease.ids.length).toBeGreaterThan(0);
      for (const id of p.osRelease.ids) expect(id).toMatch(/^[a-z]+$/);
      expect(p.osRelease.versionMajor).toMatch(/^[0-9]+$/);
      // the file extension follows the manager, and the Kubernetes repository is the manager's
      expect(packageExtension(os)).toBe(PACKAGE_MANAGERS[p.packages.manager].extension);
      expect(p.packages.sources.kubernetes).toContain(p.packages.manager === 'rpm' ? '/rpm/' : '/deb/');
      for (const source of Object.values(p.packages.sources)) expect(source.length).toBeGreaterThan(0);
      // a distribution's own containerd comes from the distribution
      if (p.distroContainerd !== undefined) {
        expect(p.distroContainerd).toMatch(/^\d+\.\d+\.\d+$/);
        expect(p.packages.sources.containerd).toContain(p.displayName);
      }
      // haproxy below 2.2 cannot read `http-check connect/send`, and 2.2+ is always given them
      expect(p.haproxy.dialect).toBe(atLeast(p.haproxy.version, '2.2') ? '2.2+' : '1.8');
      // keepalived.conf is written for keepalived 2.1.5 (RHEL 8), the oldest in the table
      expect(atLeast(p.keepalived, '2.1')).toBe(true);
      expect(p.arping).toMatch(/^\/usr\/s?bin\/arping$/);
      // cgroup v1 warns and names the release to move to, which must itself be on cgroup v2
      if (p.cgroup === 'v1') expect(p.successor && osProfile(p.successor).cgroup).toBe('v2');
      // NFD's ID + VERSION_ID: the OS's own ID and major version, optionally a minor
      expect(p.gpuDriverOsTag).toMatch(new RegExp(`^(${p.osRelease.ids.join('|')})${p.osRelease.versionMajor}(\\.[0-9]+)?$`));
      // the rehearsal node is Debian 12, which is rehearsed as itself; a change always says what it leaves unchecked
      expect(p.rehearsal.as).toBe('debian12');
      expect(p.rehearsal.unchecked.length === 0).toBe(p.rehearsal.as === os);
      // ... in its own OS's terms (a copied entry that still names another release is caught here)
      const others = HOST_OSES.filter((o) => o !== os && o !== p.rehearsal.as).map((o) => osProfile(o).displayName);
      const notes = p.rehearsal.unchecked.join('\n');
      if (notes) expect(notes).toContain(p.displayName);
      for (const d of others) expect(notes).not.toContain(d);
    });
  }

  describe("the preflight's os-release check accepts exactly the table's IDs and major versions", () => {
    const caseLine = PREFLIGHT_SCRIPT.split('\n').find((l) => l.startsWith('case "$want:$ID'))!;
    const accepts = (want: string, id: string, versionId: string | undefined) => {
      const script = `set -u\nfail=0\nwant="$1"\nID="$2"\n${versionId === undefined ? '' : 'VERSION_ID="$3"\n'}${caseLine}\nexit $fail`;
      return spawnSync('sh', ['-c', script, 'preflight', want, id, versionId ?? ''], { encoding: 'utf8' }).status === 0;
    };
    const ids = [...new Set(HOST_OSES.flatMap((o) => osProfile(o).osRelease.ids))];
    const majors = [...new Set(HOST_OSES.map((o) => osProfile(o).osRelease.versionMajor))];

    it('every (OS, ID, major) pair, with and without a minor version', () => {
      const wrong: string[] = [];
      for (const os of HOST_OSES) {
        const { ids: own, versionMajor } = osProfile(os).osRelease;
        for (const id of ids) {
          for (const major of majors) {
            const expected = own.includes(id) && major === versionMajor;
            for (const version of [major, `${major}.4`]) {
              if (accepts(os, id, version) !== expected) wrong.push(`${os} ${id} ${version}: expected ${expected ? 'accepted' : 'refused'}`);
            }
          }
        }
      }
      expect(wrong).toEqual([]);
    });

    it('a longer major that starts alike, and a missing VERSION_ID, are refused (not an unbound-variable crash)', () => {
      expect(accepts('rhel8', 'rhel', '80')).toBe(false);
      expect(accepts('rhel9', 'rocky', '9.4')).toBe(true);
      expect(accepts('rhel9', 'rocky', undefined)).toBe(false);
    });
  });
});

describe('rhel9 hosts (fixture rhel9-ha)', () => {
  const spec = loadFixture('rhel9-ha');
  const view = deriveView(spec);
  const files = renderCluster(spec, testInputs());
  const fileOf = (host: string, path: string) => files.find((f) => f.kind === 'host' && f.host === host && f.path === path);

  it('every host gets firewall.sh (firewalld) and a prepare-os.sh that sets SELinux permissive', () => {
    for (const h of view.hosts) {
      expect(fileOf(h.name, FIREWALL_PATH)?.mode, h.name).toBe(0o755);
      expect(prepareSteps(h)).toEqual(expect.arrayContaining(['selinux', 'selinux-config']));
      const prepare = fileOf(h.name, PREPARE_OS_PATH)!.content;
      expect(prepare).toContain('setenforce 0');
      expect(prepare).toContain('SELINUX=permissive');
    }
  });

  it('haproxy in the 2.2+ dialect (RHEL 9 ships 2.4), keepalived calling /usr/sbin/arping', () => {
    for (const h of view.lbHosts) {
      const cfg = fileOf(h.name, HAPROXY_CFG)!.content;
      expect(cfg).toContain('haproxy 2.2+ (RHEL 9: 2.4) syntax');
      expect(cfg).toContain('http-check connect ssl');
      expect(cfg).toContain('http-check send meth GET uri /healthz');
      expect(cfg).not.toMatch(/check-ssl|option httpchk GET/);
      expect(fileOf(h.name, KEEPALIVED_CONF)!.content).toContain('notify_master "/usr/sbin/arping -U');
    }
  });

  it('cgroup v2: the kubelet keeps failCgroupV1 at its default, and the validator does not warn about cgroup v1', () => {
    expect(fileOf(view.firstControlPlane.name, '/etc/kubernetes/airgap-k8s/kubeadm-init.yaml')!.content).not.toContain('failCgroupV1');
    const r = parseSpec(readFileSync(join(FIXTURES, 'valid-rhel9-ha.yaml'), 'utf8'));
    expect(r.warnings.map((w) => w.code)).not.toContain('cgroup_v1');
  });

  it('the plan checks for RHEL 9 and installs rpms from packages/rhel9 with dnf', () => {
    const steps = buildPlan(spec, testInputs()).phases.flatMap((p) => p.steps);
    const preflight = steps.filter((s) => s.kind === 'exec' && s.argv[3] === 'preflight');
    expect(preflight.map((s) => (s.kind === 'exec' ? s.argv[4] : ''))).toEqual(view.hosts.map(() => 'rhel9'));
    const installs = steps.filter((s) => s.kind === 'install-packages');
    expect(installs.length).toBeGreaterThan(0);
    for (const s of installs) {
      if (s.kind !== 'install-packages') continue;
      expect(s.manager).toBe('rpm');
      expect(s.dir).toMatch(/^\/data\/k8s\/packages\/rhel9\//);
    }
  });

  it('bundle list: rpm groups under packages/rhel9, fetched with dnf download on a connected RHEL 9 machine', () => {
    const pkgs = bundleContents(view).filter((r) => r.kind === 'os-package');
    expect(pkgs.map((r) => r.path)).toEqual(['packages/rhel9/containerd', 'packages/rhel9/kubernetes', 'packages/rhel9/load-balancer', 'packages/rhel9/nvidia-container-toolkit']);
    for (const r of pkgs) {
      if (r.kind !== 'os-package') continue;
      expect(r.fetch).toMatch(new RegExp(`^mkdir -p ${r.path} && dnf download --resolve --destdir ${r.path} `));
      expect(r.source).not.toContain('RHEL 8');
    }
    const names = pkgs.flatMap((r) => (r.kind === 'os-package' ? r.packages.map((p) => p.name) : []));
    expect(names).toEqual(expect.arrayContaining(['containerd.io', 'conntrack-tools', 'keepalived', 'haproxy']));
  });

  it('GPU: the validator warns that RHEL 9 support is unconfirmed; an operator-managed driver is the rhel9.6 image', () => {
    const r = parseSpec(readFileSync(join(FIXTURES, 'valid-rhel9-ha.yaml'), 'utf8'));
    const gpu = r.warnings.filter((w) => w.code === 'gpu_os');
    expect(gpu).toHaveLength(1);
    expect(gpu[0]!.message).toMatch(/could not be confirmed for RHEL 9.*\(gpu1\)/);
    const operator = structuredClone(spec);
    operator.spec.addons.gpuOperator.driver = 'operator';
    expect(gpuOperatorAddon.images(deriveView(operator)).filter((i) => i.includes('/driver:'))).toEqual(['nvcr.io/nvidia/driver:580.105.08-rhel9.6']);
  });

  it('rhel8 and rhel9 in one spec: cgroup v1 is warned about for the rhel8 hosts only, naming RHEL 9 as the move', () => {
    const doc = yaml.load(readFileSync(join(FIXTURES, 'valid-rhel9-ha.yaml'), 'utf8')) as { spec: { hosts: { os: HostOs }[] } };
    doc.spec.hosts[0]!.os = 'rhel8';
    const r = parseSpec(doc);
    const cgroup = r.warnings.filter((w) => w.code === 'cgroup_v1');
    expect(cgroup.map((w) => w.message)).toEqual([expect.stringMatching(/^RHEL 8 runs cgroup v1 \(master1\):.*plan the move to RHEL 9 before upgrading$/)]);
    expect(r.warnings.filter((w) => w.code === 'gpu_os').map((w) => w.message)).toEqual([expect.stringContaining('RHEL 9')]);
  });

  it('a rehearsal runs every rhel9 host as a debian12 node', () => {
    const r = asDebianNodes(spec);
    expect(r.changed).toEqual(view.hosts.map((h) => h.name));
    expect(r.spec.spec.hosts.every((h) => h.os === 'debian12')).toBe(true);
  });
});
