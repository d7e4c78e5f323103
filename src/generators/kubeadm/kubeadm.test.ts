import { createHash, X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { kubeadmImages } from '../../images.js';
import { deriveView, type ClusterView } from '../../spec/derive.js';
import type { ClusterSpec } from '../../spec/schema.js';
import { loadFixture, testInputs, validFixtureNames } from '../../../test/support/fixtures.js';
import { renderView } from '../index.js';
import { markerText } from '../render/marker.js';
import type { GeneratedFile, HostFile, RenderInputs } from '../types.js';
import type { HostOs } from '../../os/profiles.js';
import { GPU_TAINT, KUBEADM_API, kubeadmGenerator } from './kubeadm.js';
import { CA_CERT_PATH, CA_KEY_PATH, KUBEADM_INIT_CONFIG, KUBEADM_JOIN_CONFIG } from '../../host-paths.js';

// Loosely typed views of what we parse back out of the files.
type Doc = Record<string, any>;

function render(spec: ClusterSpec): { view: ClusterView; files: HostFile[] } {
  const view = deriveView(spec);
  return { view, files: renderView(view, testInputs(), [kubeadmGenerator]) as HostFile[] };
}

function docs(f: GeneratedFile): Doc[] {
  return yaml.loadAll(f.content) as Doc[];
}

function byKind(f: GeneratedFile, kind: string): Doc {
  const d = docs(f).find((x) => x.kind === kind);
  if (!d) throw new Error(`${f.path}: no ${kind}`);
  return d;
}

function fileOf(files: HostFile[], host: string, path: string): HostFile | undefined {
  return files.find((f) => f.host === host && f.path === path);
}

/** kubeadm's pin: sha256 over the DER SubjectPublicKeyInfo of the CA certificate. */
function spkiHash(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

function clone<T>(x: T): T {
  return structuredClone(x);
}

const inputs = testInputs();
/** Stated here rather than read from the profiles: RHEL 8 boots cgroup v1, RHEL 9 and Debian 12 boot v2. */
const BOOTS_CGROUP_V1: Record<HostOs, boolean> = { rhel8: true, rhel9: false, debian12: false };

describe.each(validFixtureNames())('kubeadm files for fixture %s', (name) => {
  const spec = loadFixture(name);
  const { view, files } = render(spec);
  const endpoint = `${view.endpoint.host}:${view.endpoint.port}`;
  const k8sHosts = view.hosts.filter((h) => h.isControlPlane || h.isWorker);

  it('exactly the first control plane gets the init file and the CA; every other Kubernetes host a join file', () => {
    const inits = files.filter((f) => f.path === KUBEADM_INIT_CONFIG).map((f) => f.host);
    expect(inits).toEqual([view.firstControlPlane.name]);
    expect(files.filter((f) => f.path === CA_CERT_PATH).map((f) => f.host)).toEqual([view.firstControlPlane.name]);
    expect(files.filter((f) => f.path === CA_KEY_PATH).map((f) => f.host)).toEqual([view.firstControlPlane.name]);
    const joins = files.filter((f) => f.path === KUBEADM_JOIN_CONFIG).map((f) => f.host).sort();
    expect(joins).toEqual(k8sHosts.filter((h) => !h.isFirstControlPlane).map((h) => h.name).sort());
    // Load-balancer-only hosts get nothing from kubeadm.
    for (const h of view.hosts.filter((x) => !x.isControlPlane && !x.isWorker)) {
      expect(files.filter((f) => f.host === h.name)).toEqual([]);
    }
  });

  it('files holding the token, certificate key or CA key are 0600 and secret; ca.crt is 0644 and public', () => {
    for (const f of files) {
      const holdsSecret = f.content.includes(inputs.secrets.bootstrapToken) || f.content.includes(inputs.secrets.certificateKey) || f.content.includes('PRIVATE KEY');
      expect({ path: f.path, secret: f.secret, mode: f.mode }).toEqual({ path: f.path, secret: holdsSecret, mode: holdsSecret ? 0o600 : 0o644 });
    }
    expect(fileOf(files, view.firstControlPlane.name, CA_CERT_PATH)!.secret).toBe(false);
  });

  it('every file starts with the generated-by marker and ends with one newline', () => {
    for (const f of files) {
      expect(f.content.split('\n')[0], f.path).toBe(`# ${markerText(view.name)}`);
      expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), f.path).toBe(true);
    }
  });

  it('the CA placed on the first control plane is the one every join pins (caCertHash)', () => {
    const cert = fileOf(files, view.firstControlPlane.name, CA_CERT_PATH)!.content;
    expect(spkiHash(cert)).toBe(inputs.caCertHash);
    const key = fileOf(files, view.firstControlPlane.name, CA_KEY_PATH)!.content;
    expect(key).toContain(inputs.secrets.ca.key.trim());
  });

  it('init: token, certificate key, own address, v1beta4 list-style kubeletExtraArgs, CRI socket', () => {
    const h = view.firstControlPlane;
    const init = byKind(fileOf(files, h.name, KUBEADM_INIT_CONFIG)!, 'InitConfiguration');
    expect(init.apiVersion).toBe(KUBEADM_API);
    expect(init.bootstrapTokens.map((t: Doc) => t.token)).toEqual([inputs.secrets.bootstrapToken]);
    expect(init.certificateKey).toBe(inputs.secrets.certificateKey);
    expect(init.certificateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(init.localAPIEndpoint).toEqual({ advertiseAddress: h.address, bindPort: spec.spec.controlPlane.loadBalancer?.backendPort ?? 6443 });
    expect(init.nodeRegistration.name).toBe(h.name);
    expect(init.nodeRegistration.criSocket).toBe('unix:///run/containerd/containerd.sock');
    expect(init.nodeRegistration.imagePullPolicy).toBe('IfNotPresent');
    expect(init.nodeRegistration.kubeletExtraArgs).toEqual([{ name: 'node-ip', value: h.address }]);
    expect(init.skipPhases).toBeUndefined();
  });

  it('cluster: version always set, endpoint, networks equal the spec, SANs cover the VIP and every control plane', () => {
    const cc = byKind(fileOf(files, view.firstControlPlane.name, KUBEADM_INIT_CONFIG)!, 'ClusterConfiguration');
    expect(cc.kubernetesVersion).toBe(spec.spec.kubernetesVersion);
    expect(cc.controlPlaneEndpoint).toBe(endpoint);
    expect(cc.networking).toEqual({
      podSubnet: spec.spec.network.podSubnet,
      serviceSubnet: spec.spec.network.serviceSubnet,
      dnsDomain: spec.spec.network.dnsDomain,
    });
    expect(cc.clusterName).toBe(spec.metadata.name);
    expect(cc.etcd.local).toBeDefined();
    for (const san of [view.endpoint.host, ...view.controlPlanes.flatMap((h) => [h.address, h.name])]) expect(cc.apiServer.certSANs).toContain(san);
    expect(new Set(cc.apiServer.certSANs).size).toBe(cc.apiServer.certSANs.length);
  });

  it('imageRepository only with a private registry, and then kubeadm pulls exactly kubeadmImages()', () => {
    const cc = byKind(fileOf(files, view.firstControlPlane.name, KUBEADM_INIT_CONFIG)!, 'ClusterConfiguration');
    if (spec.spec.offline.registry) {
      expect(cc.imageRepository).toBe(spec.spec.offline.registry);
      // kubeadm's own rule with imageRepository R: R/<component>:<tag>, CoreDNS flattened to R/coredns.
      for (const img of kubeadmImages(spec.spec.kubernetesVersion, spec.spec.offline.registry)) {
        expect(img.startsWith(`${cc.imageRepository}/`), img).toBe(true);
        expect(img).not.toContain('/coredns/coredns');
      }
    } else {
      expect('imageRepository' in cc).toBe(false);
    }
  });

  it('kubelet: systemd cgroup driver explicitly; failCgroupV1 false exactly when cgroup v1 (RHEL 8) hosts exist', () => {
    const kc = byKind(fileOf(files, view.firstControlPlane.name, KUBEADM_INIT_CONFIG)!, 'KubeletConfiguration');
    expect(kc.apiVersion).toBe('kubelet.config.k8s.io/v1beta1');
    expect(kc.cgroupDriver).toBe('systemd');
    if (spec.spec.hosts.some((h) => BOOTS_CGROUP_V1[h.os])) expect(kc.failCgroupV1).toBe(false);
    else expect('failCgroupV1' in kc).toBe(false);
    const kp = byKind(fileOf(files, view.firstControlPlane.name, KUBEADM_INIT_CONFIG)!, 'KubeProxyConfiguration');
    expect(kp.mode).toBe('iptables');
    expect(kp.clusterCIDR).toBe(spec.spec.network.podSubnet);
  });

  it('every join goes through the endpoint, pins the CA and carries the token', () => {
    for (const h of k8sHosts.filter((x) => !x.isFirstControlPlane)) {
      const j = byKind(fileOf(files, h.name, KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration');
      expect(j.apiVersion).toBe(KUBEADM_API);
      const bt = j.discovery.bootstrapToken;
      expect(bt.apiServerEndpoint, h.name).toBe(endpoint);
      if (spec.spec.controlPlane.endpoint) {
        // The runbook's worker join targeted one master's :6443; with an endpoint that must never happen.
        for (const cp of view.controlPlanes) expect(bt.apiServerEndpoint.startsWith(`${cp.address}:`), h.name).toBe(false);
      }
      expect(bt.caCertHashes).toEqual([inputs.caCertHash]);
      expect(bt.caCertHashes[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(bt.token).toBe(inputs.secrets.bootstrapToken);
      expect(bt.unsafeSkipCAVerification).toBeUndefined();
      expect(j.nodeRegistration.name).toBe(h.name);
      expect(j.nodeRegistration.kubeletExtraArgs).toEqual([{ name: 'node-ip', value: h.address }]);
    }
  });

  it('control-plane joins carry certificateKey and their own advertise address; worker joins have no controlPlane', () => {
    for (const h of k8sHosts.filter((x) => !x.isFirstControlPlane)) {
      const j = byKind(fileOf(files, h.name, KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration');
      if (h.isControlPlane) {
        expect(j.controlPlane.certificateKey, h.name).toBe(inputs.secrets.certificateKey);
        expect(j.controlPlane.localAPIEndpoint.advertiseAddress).toBe(h.address);
      } else {
        expect(j.controlPlane, h.name).toBeUndefined();
      }
    }
  });

  it('GPU hosts register with the nvidia.com/gpu:NoSchedule taint; control planes keep the kubeadm default', () => {
    for (const h of k8sHosts) {
      const f = fileOf(files, h.name, h.isFirstControlPlane ? KUBEADM_INIT_CONFIG : KUBEADM_JOIN_CONFIG)!;
      const nr = byKind(f, h.isFirstControlPlane ? 'InitConfiguration' : 'JoinConfiguration').nodeRegistration;
      if (h.isGpu) expect(nr.taints, h.name).toEqual([{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }]);
      else expect('taints' in nr, h.name).toBe(false);
    }
  });
});

describe('kubeadm files for hand-made variants', () => {
  const base = loadFixture('runbook-ha');

  it('a control plane that is also a worker is registered untainted; a GPU control plane only with the GPU taint', () => {
    const spec = clone(base);
    spec.spec.hosts[1]!.roles = ['control-plane', 'worker'];
    spec.spec.hosts[2]!.roles = ['control-plane', 'worker'];
    spec.spec.hosts[2]!.gpu = { vendor: 'nvidia', count: 1 };
    const { files } = render(spec);
    const nr = (host: string) => byKind(fileOf(files, host, KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration').nodeRegistration;
    expect(nr('master2').taints).toEqual([]);
    expect(nr('master3').taints).toEqual([{ ...GPU_TAINT }]);
  });

  it('a single control plane without endpoint: joins use its address and port 6443 (the derived endpoint)', () => {
    const { view, files } = render(loadFixture('runbook-single'));
    expect(view.cluster.spec.controlPlane.endpoint).toBeUndefined();
    const j = byKind(fileOf(files, 'node1', KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration');
    expect(j.discovery.bootstrapToken.apiServerEndpoint).toBe(`${view.firstControlPlane.address}:6443`);
  });

  it('the apiserver binds the port haproxy balances to (backendPort)', () => {
    const spec = clone(base);
    spec.spec.controlPlane.loadBalancer!.backendPort = 7443;
    const { files } = render(spec);
    expect(byKind(fileOf(files, 'master1', KUBEADM_INIT_CONFIG)!, 'InitConfiguration').localAPIEndpoint.bindPort).toBe(7443);
    expect(byKind(fileOf(files, 'master2', KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration').controlPlane.localAPIEndpoint.bindPort).toBe(7443);
  });

  it('encryptionAlgorithm: the spec\'s when it names one, else the CA\'s (an existing cluster keeps its kind of key)', () => {
    const alg = (spec: ClusterSpec, caAlgorithm: RenderInputs['caAlgorithm']) => {
      const files = renderView(deriveView(spec), { ...inputs, caAlgorithm }, [kubeadmGenerator]) as HostFile[];
      return byKind(fileOf(files, 'master1', KUBEADM_INIT_CONFIG)!, 'ClusterConfiguration').encryptionAlgorithm;
    };
    expect(base.spec.controlPlane.pki.encryptionAlgorithm).toBeUndefined();
    expect(alg(base, 'RSA-2048')).toBe('RSA-2048');
    expect(alg(base, 'ECDSA-P384')).toBe('ECDSA-P384');
    const named = clone(base);
    named.spec.controlPlane.pki.encryptionAlgorithm = 'RSA-4096';
    expect(alg(named, 'RSA-4096')).toBe('RSA-4096');
    // a CA kubeadm never makes (refused by the secrets check): what a new CA would be
    expect(alg(base, undefined)).toBe('ECDSA-P256');
  });

  it('different secrets give different files (nothing is baked in)', () => {
    const view = deriveView(base);
    const other = structuredClone(inputs);
    other.secrets.bootstrapToken = 'zyxwvu.9876543210zyxwvu';
    other.secrets.certificateKey = 'a'.repeat(64);
    other.caCertHash = `sha256:${'b'.repeat(64)}`;
    const files = renderView(view, other, [kubeadmGenerator]) as HostFile[];
    const j = byKind(fileOf(files, 'master2', KUBEADM_JOIN_CONFIG)!, 'JoinConfiguration');
    expect(j.discovery.bootstrapToken.token).toBe('zyxwvu.9876543210zyxwvu');
    expect(j.discovery.bootstrapToken.caCertHashes).toEqual([`sha256:${'b'.repeat(64)}`]);
    expect(j.controlPlane.certificateKey).toBe('a'.repeat(64));
  });
});
