// parseSpec end to end: valid fixtures, defaults, the warnings the runbook's choices deserve, YAML and JSON input,
// and the loader's refusals (alias bombs, depth, size, several documents, other apiVersions).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { deriveView } from '../../src/spec/derive.js';
import { MAX_SPEC_BYTES, SpecError, loadSpec, parseSpec, type ParseResult } from '../../src/spec/load.js';
import type { SpecIssue } from '../../src/spec/issues.js';
import { FIXTURES, validFixtureNames } from '../support/fixtures.js';

const fixtureText = (name: string) => readFileSync(join(FIXTURES, `valid-${name}.yaml`), 'utf8');
const fixtureObject = (name: string) => yaml.load(fixtureText(name), { schema: yaml.CORE_SCHEMA }) as Record<string, any>;

function ok(r: ParseResult) {
  if (!r.ok) throw new Error(`expected a valid spec:\n${r.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  return r;
}
function refused(r: ParseResult): SpecIssue[] {
  if (r.ok) throw new Error('expected the spec to be refused');
  return r.issues;
}
const codes = (issues: SpecIssue[]) => issues.map((i) => `${i.path} ${i.code}`);

const MINIMAL = `
apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: tiny}
spec:
  hosts:
    - {name: m1, address: 10.0.0.1, roles: [control-plane, worker]}
`;

describe('valid fixtures', () => {
  it.each(validFixtureNames())('%s parses', (name) => {
    const r = ok(parseSpec(fixtureText(name)));
    expect(r.spec.metadata.name).toMatch(/^[a-z0-9-]+$/);
    expect(r.spec.spec.hosts.length).toBeGreaterThan(0);
  });

  it.each(validFixtureNames())('%s gives the same spec and warnings from JSON text and from an object', (name) => {
    const fromYaml = ok(parseSpec(fixtureText(name)));
    const obj = fixtureObject(name);
    expect(ok(parseSpec(JSON.stringify(obj, null, 2)))).toEqual(fromYaml);
    expect(ok(parseSpec(JSON.stringify(obj)))).toEqual(fromYaml);
    expect(ok(parseSpec(obj))).toEqual(fromYaml);
  });
});

describe('defaults', () => {
  const { spec } = ok(parseSpec(MINIMAL));
  const s = spec.spec;

  it('fill in what a minimal spec leaves out', () => {
    expect(s.kubernetesVersion).toBe('v1.34.3');
    expect(s.ssh).toEqual({ user: 'root', port: 22, privateKeyRef: 'default' });
    expect(s.hosts[0]!.os).toBe('rhel8');
    expect(s.containerRuntime.containerd.version).toBe('1.7.28');
    expect(s.network).toMatchObject({
      podSubnet: '192.168.0.0/16',
      serviceSubnet: '10.96.0.0/12',
      dnsDomain: 'cluster.local',
      nodePortRange: { from: 30000, to: 32767 },
    });
    expect(s.network.hostSubnet).toBeUndefined();
    expect(s.offline).toMatchObject({ bundleDir: '/data/k8s', registry: '', registryInsecure: false });
    expect(s.addons.cni.calico).toMatchObject({ mode: 'manifest', encapsulation: 'IPIP' });
    expect(s.addons.dashboard).toMatchObject({ enabled: true, nodePort: 30443 });
    expect(s.addons.monitoring).toMatchObject({ enabled: true, namespace: 'monitoring', retention: '15d', grafana: { nodePort: 30724, adminPasswordRef: 'grafana' } });
    expect(s.environments).toEqual([]);
    expect(s.models).toEqual([]);
    expect(s.apps.dify.enabled).toBe(false);
    expect(s.controlPlane.loadBalancer).toBeUndefined();
  });

  it('without an endpoint, the cluster endpoint is the first control plane on 6443', () => {
    expect(deriveView(spec).endpoint).toEqual({ host: '10.0.0.1', port: 6443 });
  });

  it('fill in an empty load balancer, endpoint port, per-host ssh and model defaults', () => {
    // debian12: haproxy on load-balancer-only hosts, so the default port 6443 is free for it
    const obj = fixtureObject('debian12');
    obj.spec.controlPlane = { endpoint: { host: '10.0.0.100' }, loadBalancer: {} };
    obj.spec.hosts[0].ssh = { port: 2222 };
    obj.spec.hosts.push({ name: 'gpu1', address: '10.0.0.31', roles: ['worker'], gpu: { vendor: 'nvidia', count: 1 } });
    obj.spec.environments = [{ name: 'prod', quota: { gpus: 1 } }];
    obj.spec.models = [{ name: 'qwen-ollama', engine: 'ollama', environment: 'prod', model: 'qwen2.5:7b', modelFile: 'models/q.gguf' }];
    const r = ok(parseSpec(obj));
    expect(r.spec.spec.controlPlane.endpoint).toEqual({ host: '10.0.0.100', port: 6443 });
    expect(r.spec.spec.controlPlane.loadBalancer).toEqual({
      mode: 'keepalived-haproxy',
      virtualRouterId: 51,
      authPassRef: 'vrrp',
      unicast: false,
      notifyArping: false,
      backendPort: 6443,
    });
    expect(r.spec.spec.models[0]).toMatchObject({ gpus: 1, keepAlive: '-1', service: {} });
    const v = deriveView(r.spec);
    expect(v.hosts[0]!.ssh).toMatchObject({ user: 'root', port: 2222, privateKeyRef: 'default' });
    expect(v.hosts[1]!.ssh).toMatchObject({ user: 'root', port: 22 });
  });

  it('a per-host ssh override changes only what it names: a pinned fingerprint keeps spec.ssh user, port and key', () => {
    // found by the HA load-balancer e2e test: the override's own defaults replaced spec.ssh (user airgap -> root)
    const fp = `SHA256:${'A'.repeat(43)}`;
    const obj = fixtureObject('debian12');
    obj.spec.ssh = { user: 'airgap', port: 2222, privateKeyRef: 'ops' };
    obj.spec.hosts[0].ssh = { hostKeyFingerprint: fp };
    obj.spec.hosts[1].ssh = { user: 'admin' };
    const r = ok(parseSpec(obj));
    expect(r.spec.spec.hosts[0]!.ssh).toEqual({ hostKeyFingerprint: fp });
    const v = deriveView(r.spec);
    expect(v.hosts[0]!.ssh).toEqual({ user: 'airgap', port: 2222, privateKeyRef: 'ops', hostKeyFingerprint: fp });
    expect(v.hosts[1]!.ssh).toEqual({ user: 'admin', port: 2222, privateKeyRef: 'ops', hostKeyFingerprint: undefined });
    expect(v.hosts[2]!.ssh).toEqual({ user: 'airgap', port: 2222, privateKeyRef: 'ops', hostKeyFingerprint: undefined });
  });
});

describe('warnings', () => {
  const warned = (name: string) => ok(parseSpec(fixtureText(name))).warnings;

  it('a loopback host address is accepted with a warning naming the host (only a one-host cluster here could work)', () => {
    const w = ok(parseSpec(fixtureText('rehearsal').replace('address: 10.250.0.21', 'address: 127.0.0.2'))).warnings;
    expect(w.filter((x) => x.code === 'loopback').map((x) => x.path)).toEqual(['spec.hosts[3].address']);
    expect(warned('rehearsal').some((x) => x.code === 'loopback')).toBe(false);
  });

  it.each(['runbook-ha', 'runbook-single'])('%s: the runbook choices are accepted with warnings', (name) => {
    const w = warned(name);
    expect(codes(w)).toEqual(
      expect.arrayContaining([
        'spec.containerRuntime.containerd.version containerd_eol',
        'spec.containerRuntime.containerd.version containerd_matrix',
        'spec.hosts cgroup_v1',
        'spec.addons.gpuOperator gpu_os',
        'spec.addons.dashboard.kind archived',
        'spec.addons.cni.calico.version untested',
      ]),
    );
    const msg = (code: string) => w.find((i) => i.code === code)!.message;
    expect(msg('containerd_eol')).toContain('2025-08-23');
    expect(msg('containerd_matrix')).toContain('1.6.32');
    expect(msg('containerd_matrix')).toContain('1.6.39');
    expect(msg('cgroup_v1')).toContain('1.35');
    expect(msg('gpu_os')).toContain('8.9');
    expect(msg('archived')).toContain('headlamp');
  });

  it('a supported containerd on Debian with headlamp draws none of those', () => {
    const obj = fixtureObject('debian12');
    obj.spec.addons.dashboard = { kind: 'headlamp' };
    const c = codes(ok(parseSpec(obj)).warnings).map((x) => x.split(' ')[1]);
    for (const code of ['containerd_eol', 'containerd_matrix', 'cgroup_v1', 'gpu_os', 'archived']) expect(c).not.toContain(code);
  });

  it('an even number of control planes is a warning, not an error', () => {
    const obj = fixtureObject('runbook-ha');
    obj.spec.hosts.push({ name: 'master4', address: '55.192.0.126', roles: ['control-plane'], interface: 'ens0' });
    const r = ok(parseSpec(obj));
    const even = r.warnings.filter((i) => i.code === 'even_control_planes');
    expect(even).toEqual([{ path: 'spec.hosts', code: 'even_control_planes', message: expect.stringContaining('4 control planes') }]);
    // and an odd number draws no such warning
    expect(warned('runbook-ha').filter((i) => i.code === 'even_control_planes')).toEqual([]);
  });

  it('2 control planes are refused, with a load balancer or without: stacked etcd loses quorum when either fails', () => {
    const withLb = fixtureObject('runbook-ha');
    withLb.spec.hosts = withLb.spec.hosts.filter((h: { name: string }) => h.name !== 'master3');
    expect(withLb.spec.hosts.filter((h: { roles: string[] }) => h.roles.includes('control-plane')).length).toBe(2);
    const single = fixtureObject('runbook-single');
    single.spec.hosts.push({ name: 'master2', address: '55.192.0.126', roles: ['control-plane'], interface: 'ens0' });
    single.spec.controlPlane = { endpoint: { host: '55.192.0.200', port: 6443 }, loadBalancer: { mode: 'external' } };
    for (const obj of [withLb, single]) {
      const issues = refused(parseSpec(obj)).filter((i) => i.code === 'two_control_planes');
      expect(issues).toEqual([{ path: 'spec.hosts', code: 'two_control_planes', message: expect.stringContaining('either one failing stops the cluster') }]);
    }
  });
});

describe('every issue in one pass', () => {
  it('schema errors and the cross-field errors of the parts that parsed come together; what was left out is named', () => {
    const r = parseSpec(readFileSync(join(FIXTURES, 'invalid-schema-and-cross-field.yaml'), 'utf8'));
    const issues = refused(r);
    const codes = new Set(issues.map((i) => i.code));
    for (const c of ['invalid_format', 'unknown_field', 'duplicate', 'vip_is_host', 'quota_exceeded']) expect(codes, c).toContain(c);
    // indices stay the user's: hosts[1] and hosts[2] were left out, the duplicate is still hosts[3] vs hosts[0]
    expect(issues).toContainEqual({ path: 'spec.hosts[3].address', code: 'duplicate', message: 'duplicate address 10.0.0.11 (also spec.hosts[0])' });
    // nothing is said about the parts left out: master3's duplicate name involves hosts[2], which did not parse
    expect(issues.filter((i) => i.code === 'duplicate' && i.path.endsWith('.name'))).toEqual([]);
    expect(r.warnings.filter((w) => w.code === 'checks_skipped')).toEqual([
      { path: '', code: 'checks_skipped', message: expect.stringMatching(/left out spec\.controlPlane\.loadBalancer\.virtualRouterId, spec\.hosts\[1\], spec\.hosts\[2\]/) },
    ]);
  });

  it('a document whose required parts are invalid says the cross-field checks did not run', () => {
    const r = parseSpec('apiVersion: airgap-k8s/v1alpha1\nkind: Cluster\nmetadata: {name: Bad_Name}\nspec: {hosts: []}\n');
    refused(r);
    expect(r.warnings.map((w) => w.code)).toContain('checks_skipped');
  });
});

describe('the loader refuses', () => {
  it('a YAML alias bomb, quickly and with the alias message', () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const bomb = [
      'apiVersion: airgap-k8s/v1alpha1',
      'kind: Cluster',
      'metadata: {name: lol}',
      'spec:',
      `  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
      ...levels.slice(1).map((l, i) => `  ${l}: &${l} [${Array(9).fill(`*${levels[i]}`).join(',')}]`),
      '  hosts: *j',
    ].join('\n');
    const t0 = performance.now();
    const issues = refused(parseSpec(bomb));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('alias');
    expect(issues[0]!.message).toBe('YAML anchors/aliases (shared nodes) are not allowed in a cluster spec');
  });

  const nested = (k: number) => {
    const obj = yaml.load(MINIMAL) as Record<string, any>;
    let v: unknown = 'x';
    for (let i = 0; i < k; i++) v = [v];
    obj.spec.hosts = v;
    return obj;
  };

  it('nesting deeper than 32 levels, as text or as an object', () => {
    // spec.hosts holds k nested lists: the innermost sits at depth k + 1
    for (const doc of [nested(32), JSON.stringify(nested(32)), nested(200)]) {
      const issues = refused(parseSpec(doc));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ code: 'too_deep', message: 'nesting deeper than 32 levels' });
    }
    // 32 levels are still read (and refused by the schema, for other reasons)
    expect(refused(parseSpec(nested(31))).map((i) => i.code)).not.toContain('too_deep');
  });

  it('more than 1 MiB, counted in bytes', () => {
    const base = fixtureText('runbook-ha');
    const pad = (n: number) => `${base}#${'x'.repeat(n - Buffer.byteLength(base) - 2)}\n`;
    expect(Buffer.byteLength(pad(MAX_SPEC_BYTES))).toBe(MAX_SPEC_BYTES);
    ok(parseSpec(pad(MAX_SPEC_BYTES)));
    const issues = refused(parseSpec(pad(MAX_SPEC_BYTES + 1)));
    expect(issues).toEqual([{ path: '', code: 'too_large', message: `the spec is larger than ${MAX_SPEC_BYTES} bytes` }]);
    // fewer characters than the limit, more bytes (é is two bytes in UTF-8)
    const wide = `${base}#${'é'.repeat(MAX_SPEC_BYTES / 2)}\n`;
    expect(wide.length).toBeLessThan(MAX_SPEC_BYTES);
    expect(refused(parseSpec(wide))[0]!.code).toBe('too_large');
  });

  it('several documents, or none', () => {
    const two = `${fixtureText('runbook-single')}\n---\n${fixtureText('runbook-ha')}`;
    expect(refused(parseSpec(two))).toEqual([{ path: '', code: 'document_count', message: 'expected exactly one YAML document, found 2' }]);
    expect(refused(parseSpec(''))).toEqual([{ path: '', code: 'document_count', message: 'expected exactly one YAML document, found 0' }]);
  });

  it('another apiVersion before reading anything else, and a missing one', () => {
    const obj = fixtureObject('runbook-ha');
    obj.apiVersion = 'airgap-k8s/v2';
    obj.spec.bogus = true;
    expect(refused(parseSpec(obj))).toEqual([
      { path: 'apiVersion', code: 'unsupported_version', message: 'unsupported apiVersion "airgap-k8s/v2"; this release reads airgap-k8s/v1alpha1' },
    ]);
    delete obj.apiVersion;
    expect(codes(refused(parseSpec(obj)))).toEqual(expect.arrayContaining(['apiVersion invalid_value', 'spec.bogus unknown_field']));
    obj.apiVersion = 'airgap-k8s/v1alpha1';
    obj.kind = 'Deployment';
    expect(refused(parseSpec(obj))).toContainEqual(expect.objectContaining({ path: 'kind', message: 'must be Cluster' }));
  });

  it('YAML syntax errors, duplicate keys, unknown tags and non-finite numbers', () => {
    const syntax = refused(parseSpec('apiVersion: [unclosed\n'));
    expect(syntax[0]!.code).toBe('syntax');
    expect(syntax[0]!.message).toMatch(/^not valid YAML or JSON: /);
    expect(refused(parseSpec(`${MINIMAL}metadata: {name: again}\n`))[0]!.code).toBe('syntax');
    expect(refused(parseSpec(`${MINIMAL}  extra: !!binary aGVsbG8=\n`))[0]!.code).toBe('syntax');
    expect(refused(parseSpec(`${MINIMAL}  extra: !!js/function 'function(){}'\n`))[0]!.code).toBe('syntax');
    const inf = refused(parseSpec(MINIMAL.replace('kind: Cluster', 'kind: Cluster\nweird: .inf')));
    expect(inf).toEqual([{ path: 'weird', code: 'invalid_number', message: 'numbers must be finite' }]);
  });

  it('a document that is not a mapping', () => {
    expect(refused(parseSpec('- a\n- b\n')).length).toBeGreaterThan(0);
    expect(refused(parseSpec('just a string')).length).toBeGreaterThan(0);
    expect(refused(parseSpec(null)).length).toBeGreaterThan(0);
  });

  it('says "is required" for a missing field and names the type it got for a wrong one', () => {
    const obj = yaml.load(MINIMAL) as Record<string, any>;
    obj.spec.hosts[0].roles = 'worker';
    delete obj.spec.hosts[0].address;
    obj.spec.ssh = { port: '22' };
    expect(refused(parseSpec(obj)).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.hosts[0].address: is required (string)',
      'spec.hosts[0].roles: must be array, got string',
      'spec.ssh.port: must be number, got string',
    ]);
  });
});

describe('spec.etcd.snapshots', () => {
  const withSnapshots = (snapshots: Record<string, unknown>) => {
    const obj = yaml.load(MINIMAL) as Record<string, any>;
    obj.spec.etcd = { snapshots: { enabled: true, ...snapshots } };
    return parseSpec(obj);
  };

  it('is off by default, and on with its defaults: daily, the newest 7, /var/backups/etcd', () => {
    expect(ok(parseSpec(MINIMAL)).spec.spec.etcd.snapshots).toEqual({ enabled: false, schedule: 'daily', keep: 7, dir: '/var/backups/etcd' });
    expect(ok(withSnapshots({})).spec.spec.etcd.snapshots).toEqual({ enabled: true, schedule: 'daily', keep: 7, dir: '/var/backups/etcd' });
  });

  it.each(['daily', 'hourly', 'Mon..Fri 02:00', '*-*-* 03:15:00', '*:0/30', 'Sat,Sun 04:00 UTC', 'Mon..Fri 01,13:30 Europe/Berlin', '*-*~01 05:00'])(
    'accepts the calendar expression %j',
    (schedule) => {
      expect(ok(withSnapshots({ schedule })).spec.spec.etcd.snapshots.schedule).toBe(schedule);
    },
  );

  // each lands in the timer's OnCalendar= line: another line, a specifier or shell text must never get there
  it.each([
    'daily\nExecStartPre=/bin/rm -rf /',
    'daily\r\nPersistent=false',
    '%H:00',
    'daily; reboot',
    '$(reboot)',
    '`reboot`',
    'daily | sh',
    'daily && reboot',
    '"daily"',
    "'daily'",
    'daily # comment',
    'daily\\',
    ' daily',
    'daily ',
    'Mon  02:00',
    'Mon\t02:00',
    '',
    'x'.repeat(101),
  ])('refuses the schedule %j, naming the field', (schedule) => {
    const issues = refused(withSnapshots({ schedule }));
    expect(issues.map((i) => i.path)).toEqual(['spec.etcd.snapshots.schedule']);
  });

  it.each([
    ['relative/dir', 'must be an absolute path'],
    ['/var/backups/etcd snapshots', 'must be an absolute path'],
    ['/var/backups/etcd\n/etc', 'must be an absolute path'],
    ['/var/backups/$(reboot)', 'must be an absolute path'],
    ['/var/backups/etcd;reboot', 'must be an absolute path'],
    ['/var/backups/%n', 'must be an absolute path'],
    ['/var/backups/../../etc', 'must not contain ".."'],
    ['/', 'must not be /'],
    ['//', 'must not be /'],
    ['/var/lib/etcd', 'must not be /var/lib/etcd or below it'],
    ['/var/lib/etcd/backups', 'must not be /var/lib/etcd or below it'],
    ['/var//lib/./etcd/', 'must not be /var/lib/etcd or below it'],
  ])('refuses the directory %j: %s', (dir, message) => {
    const issues = refused(withSnapshots({ dir }));
    expect(issues.map((i) => i.path)).toEqual(['spec.etcd.snapshots.dir']);
    expect(issues[0]!.message).toContain(message);
  });

  it('accepts a directory next to /var/lib/etcd whose name only starts the same', () => {
    expect(ok(withSnapshots({ dir: '/var/lib/etcd-backups' })).spec.spec.etcd.snapshots.dir).toBe('/var/lib/etcd-backups');
  });

  it.each([0, 366, 1.5, -1])('refuses keep %j', (keep) => {
    expect(refused(withSnapshots({ keep })).map((i) => i.path)).toEqual(['spec.etcd.snapshots.keep']);
  });

  it('refuses unknown fields and reports every problem at once', () => {
    const issues = refused(withSnapshots({ keep: 0, schedule: 'daily;x', dir: 'x', every: 'day' }));
    expect(issues.map((i) => i.path).sort()).toEqual(['spec.etcd.snapshots.dir', 'spec.etcd.snapshots.every', 'spec.etcd.snapshots.keep', 'spec.etcd.snapshots.schedule']);
  });

  it('refuses a directory inside the offline bundle only while snapshots are on (reset --purge removes the bundle)', () => {
    const inBundle = { dir: '/data/k8s/snapshots' };
    expect(codes(refused(withSnapshots(inBundle)))).toEqual(['spec.etcd.snapshots.dir snapshots_in_bundle']);
    const obj = yaml.load(MINIMAL) as Record<string, any>;
    obj.spec.etcd = { snapshots: { enabled: false, ...inBundle } };
    ok(parseSpec(obj));
    expect(ok(withSnapshots({ dir: '/data/k8s-snapshots' })).spec.spec.etcd.snapshots.dir).toBe('/data/k8s-snapshots');
  });
});

describe('loadSpec', () => {
  it('throws a SpecError carrying every issue', () => {
    const text = readFileSync(join(FIXTURES, 'invalid-many-schema.yaml'), 'utf8');
    const issues = refused(parseSpec(text));
    expect(issues.length).toBeGreaterThan(5);
    try {
      loadSpec(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).issues).toEqual(issues);
      for (const i of issues) expect((e as SpecError).message).toContain(`${i.path}: ${i.message}`);
    }
  });

  it('returns the spec and warnings of a valid one', () => {
    const { spec, warnings } = loadSpec(fixtureText('runbook-ha'));
    expect(spec.metadata.name).toBe('gpu-prod');
    expect(warnings.length).toBeGreaterThan(0);
  });
});
