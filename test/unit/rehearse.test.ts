// The dress rehearsal's pure parts (moving a spec into another subnet, the gateway, rhel8 hosts as Debian 12 nodes)
// and the `rehearse` command's argument errors: every one exits 2 before any docker call. No node is made here;
// the real rehearsal needs root, dockerd and the node image.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/commands.js';
import { applyLocal } from '../../src/cli/apply-local.js';
import { capture } from '../support/capture.js';
import { MemoryJournal } from '../../src/runner/journal.js';
import { deriveView } from '../../src/spec/derive.js';
import { testInputs } from '../support/fixtures.js';
import { parseSpec } from '../../src/spec/load.js';
import { secs } from '../../src/rehearse/cli.js';
import { asDebianNodes, checkCidr, gatewayFor, hostSubnetOf, RemapError, remapSpec } from '../../src/rehearse/remap.js';
import { parseRehearsalRules } from '../../src/rehearse/nodes.js';
import { FIXTURES, loadFixture, renderInputsOnlyBundle } from '../support/fixtures.js';
import { prepareInstall } from '../../src/install/index.js';

const REHEARSAL = join(FIXTURES, 'valid-rehearsal.yaml');

describe('remapSpec', () => {
  it('moves every host address, the VIP and hostSubnet into the new subnet, keeping offsets; the input is untouched', () => {
    const spec = loadFixture('rehearsal');
    const before = structuredClone(spec);
    const r = remapSpec(spec, '10.251.0.0/24');
    expect(spec).toEqual(before);
    expect(r.spec.spec.hosts.map((h) => [h.name, h.address])).toEqual([
      ['cp1', '10.251.0.11'],
      ['cp2', '10.251.0.12'],
      ['cp3', '10.251.0.13'],
      ['w1', '10.251.0.21'],
    ]);
    expect(r.spec.spec.controlPlane.endpoint).toEqual({ host: '10.251.0.100', port: 6553 });
    expect(r.spec.spec.network.hostSubnet).toBe('10.251.0.0/24');
    expect(r.mapping).toEqual([
      { host: 'cp1', from: '10.250.0.11', to: '10.251.0.11' },
      { host: 'cp2', from: '10.250.0.12', to: '10.251.0.12' },
      { host: 'cp3', from: '10.250.0.13', to: '10.251.0.13' },
      { host: 'w1', from: '10.250.0.21', to: '10.251.0.21' },
      { host: 'endpoint', from: '10.250.0.100', to: '10.251.0.100' },
      { host: 'hostSubnet', from: '10.250.0.0/24', to: '10.251.0.0/24' },
    ]);
    // everything else is the same spec, and it is still valid
    expect({ ...r.spec, spec: { ...r.spec.spec, hosts: [], controlPlane: {}, network: {} } }).toEqual({
      ...spec,
      spec: { ...spec.spec, hosts: [], controlPlane: {}, network: {} },
    });
    expect(parseSpec(r.spec).ok).toBe(true);
  });

  it('the runbook spec (55.192.0.0/24) into another /24 and into a /25 that holds every offset', () => {
    const spec = loadFixture('runbook-ha');
    const r = remapSpec(spec, '10.9.8.0/24');
    expect(r.spec.spec.hosts.map((h) => h.address)).toEqual(['10.9.8.125', '10.9.8.7', '10.9.8.159', '10.9.8.225']);
    expect(r.spec.spec.controlPlane.endpoint?.host).toBe('10.9.8.1');
    expect(parseSpec(r.spec).ok).toBe(true);
    const small = remapSpec(loadFixture('rehearsal'), '172.30.5.128/25');
    expect(small.spec.spec.hosts.map((h) => h.address)).toEqual(['172.30.5.139', '172.30.5.140', '172.30.5.141', '172.30.5.149']);
    expect(small.spec.spec.controlPlane.endpoint?.host).toBe('172.30.5.228');
  });

  it('refuses a subnet where an offset has no usable address, naming what does not fit', () => {
    expect(() => remapSpec(loadFixture('rehearsal'), '10.251.0.0/26')).toThrow(/endpoint 10\.250\.0\.100 is offset 100 in 10\.250\.0\.0\/24; 10\.251\.0\.0\/26 has no usable address/);
    // the runbook's master3 sits at offset 159: no /25 holds it
    expect(() => remapSpec(loadFixture('runbook-ha'), '10.9.8.0/25')).toThrow(/master3 55\.192\.0\.159 is offset 159/);
  });

  it('refuses what is not a CIDR, host bits, and prefixes outside /8-/30', () => {
    expect(() => checkCidr('10.251.0.0')).toThrow(/not an IPv4 CIDR/);
    expect(() => checkCidr('10.251.0.300/24')).toThrow(/not an IPv4 CIDR/);
    expect(() => checkCidr('10.251.0.1/24')).toThrow(/host bits set: did you mean 10\.251\.0\.0\/24/);
    expect(() => checkCidr('10.251.0.0/31')).toThrow(/\/8 to \/30/);
    expect(() => remapSpec(loadFixture('rehearsal'), 'ten/24')).toThrow(RemapError);
  });

  it('moves Calico can-reach=/cidr= autodetection and a registry by IP with the hosts', () => {
    const base = loadFixture('rehearsal');
    const a = structuredClone(base);
    a.spec.addons.cni.calico.ipAutodetection = 'can-reach=10.250.0.11';
    a.spec.offline.registry = '10.250.0.50:5000/k8s';
    const ra = remapSpec(a, '10.251.0.0/24');
    expect(ra.spec.spec.addons.cni.calico.ipAutodetection).toBe('can-reach=10.251.0.11');
    expect(ra.spec.spec.offline.registry).toBe('10.251.0.50:5000/k8s');
    const b = structuredClone(base);
    b.spec.addons.cni.calico.ipAutodetection = 'cidr=10.250.0.0/24,10.250.0.16/28,192.168.9.0/24';
    expect(remapSpec(b, '10.251.0.0/24').spec.spec.addons.cni.calico.ipAutodetection).toBe('cidr=10.251.0.0/24,10.251.0.16/28,192.168.9.0/24');
    // interface= is a name, not an address
    expect(remapSpec(base, '10.251.0.0/24').spec.spec.addons.cni.calico.ipAutodetection).toBe('interface=eth0');
  });

  it('without hostSubnet: the smallest network of at least /24 holding the hosts and the VIP', () => {
    const spec = loadFixture('rehearsal');
    delete spec.spec.network.hostSubnet;
    expect(hostSubnetOf(spec)).toBe('10.250.0.0/24');
    spec.spec.hosts[3]!.address = '10.250.7.21';
    expect(hostSubnetOf(spec)).toBe('10.250.0.0/21');
    expect(remapSpec(spec, '10.251.0.0/21').spec.spec.hosts[3]!.address).toBe('10.251.7.21');
  });
});

describe('the rehearsal network', () => {
  it('gateway: .1 when free, else the last usable address, else the first free one', () => {
    expect(gatewayFor('10.251.0.0/24', ['10.251.0.11', '10.251.0.100'])).toBe('10.251.0.1');
    expect(gatewayFor('10.251.0.0/24', ['10.251.0.1', '10.251.0.100'])).toBe('10.251.0.254');
    expect(gatewayFor('10.251.0.0/30', ['10.251.0.1'])).toBe('10.251.0.2');
    expect(() => gatewayFor('10.251.0.0/30', ['10.251.0.1', '10.251.0.2'])).toThrow(/no room for the network's gateway/);
  });

  it('finds its own DOCKER-USER rules and no one else\'s', () => {
    const listing = [
      '-N DOCKER-USER',
      '-A DOCKER-USER -i br-89a813a4dc91 -o br-89a813a4dc91 -m comment --comment "airgap-k8s.testbed=cluster-mx7u" -j ACCEPT',
      '-A DOCKER-USER -i br-0123456789ab -o br-0123456789ab -m comment --comment airgap-k8s.rehearsal=lx9abc12ef -j ACCEPT',
      '-A DOCKER-USER -j RETURN',
    ].join('\n');
    expect(parseRehearsalRules(listing)).toEqual([{ bridge: 'br-0123456789ab', runId: 'lx9abc12ef' }]);
  });

  it('rhel8 hosts become debian12 nodes; debian12 specs are unchanged', () => {
    const r = asDebianNodes(loadFixture('runbook-ha'));
    expect(r.changed).toEqual(['master1', 'master2', 'master3', 'gpu1']);
    expect(r.spec.spec.hosts.every((h) => h.os === 'debian12')).toBe(true);
    expect(asDebianNodes(loadFixture('rehearsal')).changed).toEqual([]);
  });
});

describe('airgap-k8s rehearse: bad input exits 2 before anything is made', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rehearse-cli-'));
  const io = () => capture(tmp);
  const secrets = ['--secrets', join(tmp, 'secrets.yaml')];

  it('--help', async () => {
    const c = io();
    expect(await run(['rehearse', '--help'], c)).toBe(0);
    expect(c.out).toContain('Usage: airgap-k8s rehearse SPEC --bundle DIR');
    expect(c.out).toContain('--subnet CIDR');
  });

  it.each([
    [[], /give exactly one SPEC/],
    [[REHEARSAL, REHEARSAL, '--bundle', tmp], /give exactly one SPEC/],
    [[REHEARSAL], /--bundle DIR is required/],
    [[REHEARSAL, '--bundle', tmp, '--subnet', '10.251.0.0'], /--subnet "10\.251\.0\.0" is not an IPv4 CIDR/],
    [[REHEARSAL, '--bundle', tmp, '--subnet', '10.251.0.5/24'], /host bits set/],
    [[REHEARSAL, '--bundle', tmp, '--subnet', '10.251.0.0/26'], /endpoint 10\.250\.0\.100 is offset 100/],
    [[REHEARSAL, '--bundle', tmp, '--concurrency', '0'], /--concurrency must be an integer/],
    [[REHEARSAL, '--bundle', tmp, '--image', 'not an image'], /is not an image reference/],
    [['--remove', 'Not-A-Run'], /--remove takes one RUNID/],
  ])('rehearse %j', async (args, message) => {
    const c = io();
    expect(await run(['rehearse', ...(args as string[]), ...secrets], c)).toBe(2);
    expect(c.err).toMatch(message as RegExp);
  });

  it('an unknown option', async () => {
    expect(await run(['rehearse', REHEARSAL, '--bundle', tmp, '--bogus'], io())).toBe(2);
  });

  it('an invalid spec: every issue, exit 2', async () => {
    const c = io();
    expect(await run(['rehearse', join(FIXTURES, 'invalid-many-cross-field.yaml'), '--bundle', tmp, ...secrets], c)).toBe(2);
    expect(c.err).toContain('invalid cluster spec');
  });

  it('a subnet the moved spec cannot live in (overlapping the pod subnet): exit 2 with the issue', async () => {
    const c = io();
    expect(await run(['rehearse', REHEARSAL, '--bundle', tmp, '--subnet', '10.244.3.0/24', ...secrets], c)).toBe(2);
    expect(c.out).toMatch(/^ {2}cp1 +10\.250\.0\.11 +-> +10\.244\.3\.11$/m);
    expect(c.err).toMatch(/moved into 10\.244\.3\.0\/24\): invalid cluster spec/);
    expect(c.err).toMatch(/overlap/);
  });

  it('an existing --journal is refused (the nodes are new every time)', async () => {
    const j = join(tmp, 'old.journal.json');
    writeFileSync(j, '{"seq":0,"steps":{}}');
    const c = io();
    expect(await run(['rehearse', REHEARSAL, '--bundle', tmp, '--journal', j, ...secrets], c)).toBe(2);
    expect(c.err).toMatch(/old\.journal\.json exists/);
  });

  it('a bundle that does not verify: exit 2, nothing made (the mapping and rhel8 warnings come first)', async () => {
    const c = io();
    const incomplete = renderInputsOnlyBundle(deriveView(loadFixture('rehearsal')));
    expect(await run(['rehearse', REHEARSAL, '--bundle', incomplete, '--subnet', '10.251.0.0/24', ...secrets], c)).toBe(2);
    expect(c.out).toContain('rehearsing in 10.251.0.0/24');
    expect(c.err).toMatch(/the offline bundle has \d+ problems?; nothing was started/);
    expect(c.out).not.toContain('nodes:');
    const rb = io();
    expect(await run(['rehearse', join(FIXTURES, 'valid-runbook-ha.yaml'), '--bundle', join(tmp, 'no-bundle'), ...secrets], rb)).toBe(2);
    expect(rb.err).toContain('WARNING: master1 is os rhel8 but is rehearsed on a Debian 12 node, as debian12');
    expect(rb.err).toContain('haproxy 1.8 dialect');
    expect(rb.err).toContain('nothing was started');
    const r9 = io();
    expect(await run(['rehearse', join(FIXTURES, 'valid-rhel9-ha.yaml'), '--bundle', join(tmp, 'no-bundle'), ...secrets], r9)).toBe(2);
    expect(r9.err).toContain('WARNING: master1 is os rhel9 but is rehearsed on a Debian 12 node, as debian12. What differs from RHEL 9:');
    expect(r9.err).toContain("cgroup v1 instead of RHEL 9's cgroup v2");
    expect(r9.err).not.toContain('RHEL 8');
    expect(existsSync(join(tmp, 'secrets.yaml'))).toBe(true);
  });
});

describe('applyLocal: the one install path of apply and rehearse', () => {
  it('renders with the container-node overlay for the kind executor only (nothing runs: the signal is aborted)', async () => {
    const view = deriveView(loadFixture('rehearsal'));
    const quiet: Io = { stdout: () => {}, stderr: () => {}, readFile: () => '', cwd: tmpdir(), isTTY: false };
    const secrets = testInputs().secrets;
    const base = { concurrency: 1, verbose: false, io: quiet };
    const bundleDir = renderInputsOnlyBundle(view);
    const prepared = (executor: 'kind' | 'ssh') => prepareInstall({ view, secrets, executor, bundleDir });
    const kind = await applyLocal({ ...base, prepared: prepared('kind'), journal: new MemoryJournal(), signal: AbortSignal.abort() });
    expect(kind.summary.cancelled).toBe(true);
    expect(kind.executors.made.size).toBe(0);
    expect(kind.plan.overlay?.name).toBe('container-node');
    const ssh = await applyLocal({ ...base, prepared: prepared('ssh'), journal: new MemoryJournal(), signal: AbortSignal.abort() });
    expect(ssh.plan.overlay).toBeUndefined();
    expect(JSON.stringify(kind.plan)).not.toEqual(JSON.stringify(ssh.plan));
  });
});

describe('the report\'s durations', () => {
  it('round to whole seconds before splitting minutes (239.6 s is 4m00s, never 3m60s)', () => {
    expect([secs(4_240), secs(59_940), secs(59_960), secs(187_000), secs(239_600)]).toEqual(['4.2s', '59.9s', '1m00s', '3m07s', '4m00s']);
  });
});
