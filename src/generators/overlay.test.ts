// The container-node overlay: exactly its settings, only with the overlay, shown in the plan; real hosts' files stay
// byte-identical (the golden tests hold them).
import { parse as parseToml } from 'smol-toml';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { deriveView } from '../spec/derive.js';
import { buildPlan } from '../plan/build.js';
import { formatPlan } from '../plan/format.js';
import { loadFixture, testInputs } from '../../test/support/fixtures.js';
import { renderView } from './index.js';
import { OVERLAYS } from './overlay.js';
import type { HostFile } from './types.js';

const overlay = { overlay: 'container-node' as const };

function render(name: string, withOverlay: boolean) {
  const inputs = withOverlay ? { ...testInputs(), ...overlay } : testInputs();
  return new Map(renderView(deriveView(loadFixture(name)), inputs).map((f) => [`${f.kind === 'host' ? `${(f as HostFile).host}:` : ''}${f.path}`, f.content]));
}

describe('overlay container-node', () => {
  const plain = render('rehearsal', false);
  const over = render('rehearsal', true);

  it('changes only containerd config.toml, the kubeadm configs and prepare-os.sh, and adds the rshared unit', () => {
    const changed = [...over].filter(([k, v]) => plain.has(k) && plain.get(k) !== v).map(([k]) => k.replace(/^[^:]+:/, '')).sort();
    expect([...new Set(changed)]).toEqual([
      '/etc/containerd/config.toml',
      '/etc/kubernetes/airgap-k8s/kubeadm-init.yaml',
      '/etc/kubernetes/airgap-k8s/kubeadm-join.yaml',
      '/usr/local/lib/airgap-k8s/prepare-os.sh',
    ]);
    const added = [...over.keys()].filter((k) => !plain.has(k)).sort();
    expect(added).toEqual(['cp1', 'cp2', 'cp3', 'w1'].flatMap((h) => [`${h}:/etc/kubernetes/airgap-k8s/resolv.conf`, `${h}:/etc/systemd/system/airgap-k8s-rshared.service`]));
    expect(over.get('w1:/etc/kubernetes/airgap-k8s/resolv.conf')).toContain('nameserver 10.250.0.21\n');
    expect(over.get('cp1:/etc/systemd/system/airgap-k8s-rshared.service')).toContain('ExecStart=/bin/mount --make-rshared /');
    expect(over.get('cp1:/usr/local/lib/airgap-k8s/prepare-os.sh')).toContain('systemctl enable --now airgap-k8s-rshared.service');
    expect([...plain.keys()].filter((k) => !over.has(k))).toEqual([]);
  });

  it('containerd: restrict_oom_score_adj in the CRI plugin (config version 2 and 3)', () => {
    const v2 = parseToml(over.get('cp1:/etc/containerd/config.toml')!) as any;
    expect(v2.plugins['io.containerd.grpc.v1.cri'].restrict_oom_score_adj).toBe(true);
    expect(over.get('cp1:/etc/containerd/config.toml')).toContain('# overlay container-node:');
    expect(parseToml(plain.get('cp1:/etc/containerd/config.toml')!) as any).not.toHaveProperty(['plugins', 'io.containerd.grpc.v1.cri', 'restrict_oom_score_adj']);
    const c2 = render('containerd2', true);
    const [k3] = [...c2.keys()].filter((k) => k.endsWith(':/etc/containerd/config.toml'));
    expect((parseToml(c2.get(k3!)!) as any).plugins['io.containerd.cri.v1.runtime'].restrict_oom_score_adj).toBe(true);
  });

  it('kubeadm: kube-proxy leaves nf_conntrack_max alone; preflight skips SystemVerification on every node', () => {
    const init = yaml.loadAll(over.get('cp1:/etc/kubernetes/airgap-k8s/kubeadm-init.yaml')!) as any[];
    expect(init.find((d) => d.kind === 'KubeProxyConfiguration').conntrack).toEqual({ maxPerCore: 0 });
    expect(init.find((d) => d.kind === 'KubeletConfiguration').resolvConf).toBe('/etc/kubernetes/airgap-k8s/resolv.conf');
    expect(init.find((d) => d.kind === 'KubeletConfiguration').imageGCHighThresholdPercent).toBe(100);
    expect(init.find((d) => d.kind === 'InitConfiguration').nodeRegistration.ignorePreflightErrors).toEqual(['SystemVerification']);
    for (const h of ['cp2', 'cp3', 'w1']) {
      const join = yaml.load(over.get(`${h}:/etc/kubernetes/airgap-k8s/kubeadm-join.yaml`)!) as any;
      expect(join.nodeRegistration.ignorePreflightErrors).toEqual(['SystemVerification']);
    }
    const plainInit = yaml.loadAll(plain.get('cp1:/etc/kubernetes/airgap-k8s/kubeadm-init.yaml')!) as any[];
    expect(plainInit.find((d) => d.kind === 'KubeProxyConfiguration').conntrack).toBeUndefined();
  });

  it('prepare-os: our per-namespace sysctls with sysctl -w, never `sysctl --system`', () => {
    const s = over.get('cp1:/usr/local/lib/airgap-k8s/prepare-os.sh')!;
    expect(s).not.toContain('sysctl --system');
    expect(s).toContain('sysctl -q -w net.bridge.bridge-nf-call-iptables=1');
    expect(plain.get('cp1:/usr/local/lib/airgap-k8s/prepare-os.sh')).toContain('sysctl --system');
  });

  it('the plan names the overlay and each of its settings; without it the plan says nothing of overlays', () => {
    const text = formatPlan(buildPlan(loadFixture('rehearsal'), { ...testInputs(), ...overlay }));
    expect(text).toContain(`overlay container-node: ${OVERLAYS['container-node'].summary}`);
    for (const s of OVERLAYS['container-node'].settings) expect(text).toContain(s.setting);
    expect(formatPlan(buildPlan(loadFixture('rehearsal'), testInputs()))).not.toContain('overlay');
  });
});
