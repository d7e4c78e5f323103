// The real offline supply: the bundle scripts/supply/build.sh builds from upstream source for the rehearsal spec
// (fixtures/valid-rehearsal.yaml: Debian 12, 3 control planes + LB, 1 worker, Calico VXLAN, local-path storage),
// checked with nothing stubbed:
//   - `bundle verify` accepts it; every image kubeadm v1.34.3 lists and every image of the spec's images.txt is in it;
//   - on a bare test-bed host container (no Kubernetes preinstalled, on an --internal network: no way out), every
//     package group installs with one `dpkg -i` (containerd, kubernetes, load-balancer), the binaries report their
//     versions, every image archive imports into that host's containerd under its exact reference, and each image's
//     program runs from containerd and reports its version;
//   - the smoke run: kubelet + containerd from those packages, `kubeadm init` with OUR rendered InitConfiguration
//     (a single control plane at the container's address) reaches a healthy API server (/readyz = ok) whose static
//     pods run the bundle's images, with our new ECDSA-P256 CA (the default) and kubeadm's keys of the same kind.
// `npm run test:supply` builds (or finds cached) the supply first. Prints timings with the prefix [supply].
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../src/bundle/io/verify.js';
import { imageArchivePath } from '../../src/bundle/layout.js';
import { renderView } from '../../src/generators/index.js';
import type { HostFile } from '../../src/generators/types.js';
import { inputsFromSecrets, loadOrCreateSecrets } from '../../src/secrets/secrets.js';
import { KindExecutor } from '../../src/executors/kind/kind.js';
import { writeFileAtomic } from '../../src/executors/ops.js';
import { createTestbed, runLocal, type Testbed, waitFor } from '../testbed/testbed.js';
import { parseManifest } from '../../src/bundle/manifest.js';
import { REHEARSAL_SPEC, rehearsalView, supplyBundle, toolchainBin, viewOf } from './supply.js';

const log = (line: string) => console.log(`[supply] ${line}`);
const BUNDLE_ON_HOST = '/data/k8s';
const GROUPS = ['containerd', 'kubernetes', 'load-balancer'] as const;

/** The program in each image and what it prints when asked for its version. */
const IMAGE_VERSIONS: { ref: string; argv: string[]; expect: RegExp }[] = [
  { ref: 'registry.k8s.io/kube-apiserver:v1.34.3', argv: ['kube-apiserver', '--version'], expect: /^Kubernetes v1\.34\.3$/m },
  { ref: 'registry.k8s.io/kube-controller-manager:v1.34.3', argv: ['kube-controller-manager', '--version'], expect: /^Kubernetes v1\.34\.3$/m },
  { ref: 'registry.k8s.io/kube-scheduler:v1.34.3', argv: ['kube-scheduler', '--version'], expect: /^Kubernetes v1\.34\.3$/m },
  { ref: 'registry.k8s.io/kube-proxy:v1.34.3', argv: ['kube-proxy', '--version'], expect: /^Kubernetes v1\.34\.3$/m },
  { ref: 'registry.k8s.io/etcd:3.6.5-0', argv: ['etcd', '--version'], expect: /^etcd Version: 3\.6\.5$/m },
  { ref: 'registry.k8s.io/etcd:3.6.5-0', argv: ['etcdctl', 'version'], expect: /^etcdctl version: 3\.6\.5$/m },
  { ref: 'registry.k8s.io/coredns/coredns:v1.12.1', argv: ['/coredns', '-version'], expect: /CoreDNS-1\.12\.1/ },
  { ref: 'registry.k8s.io/pause:3.10.1', argv: ['/pause', '-v'], expect: /v3\.10\.1/ },
  { ref: 'docker.io/calico/node:v3.27.0', argv: ['calico-node', '-v'], expect: /v3\.27\.0/ },
  { ref: 'docker.io/calico/cni:v3.27.0', argv: ['/opt/cni/bin/calico', '-v'], expect: /v3\.27\.0/ },
  { ref: 'docker.io/calico/kube-controllers:v3.27.0', argv: ['/usr/bin/kube-controllers', '--version'], expect: /v3\.27\.0/ },
  { ref: 'docker.io/rancher/local-path-provisioner:v0.0.30', argv: ['local-path-provisioner', '--version'], expect: /v0\.0\.30/ },
  { ref: 'docker.io/library/busybox:1.35.0', argv: ['busybox'], expect: /BusyBox v1\.35\.0/ },
];

describe('the real offline supply for a Debian 12 cluster', () => {
  let bundle: string;
  let tb: Testbed;
  let tmp: string;
  const timings: string[] = [];
  const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await f();
    timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    log(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  };

  beforeAll(async () => {
    bundle = supplyBundle();
    tmp = mkdtempSync(join(tmpdir(), 'airgap-k8s-supply-'));
    log(`bundle ${bundle}`);
    tb = await timed('test-bed host up', () => createTestbed({ name: 'supply', hosts: ['cp1'], kubernetes: true, log }));
  }, 300_000);

  afterAll(async () => {
    for (const t of timings) log(`timing ${t}`);
    await tb?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('passes `bundle verify` for the rehearsal spec, nothing missing, nothing extra', async () => {
    const r = await verifyBundle(rehearsalView(), bundle);
    expect(r.issues).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('holds every image `kubeadm config images list` prints and every image of the spec\'s images.txt', async () => {
    const kubeadm = join(toolchainBin(), 'kubeadm');
    const listed = await runLocal([kubeadm, 'config', 'images', 'list', '--kubernetes-version', 'v1.34.3']);
    expect(listed.exitCode).toBe(0);
    const kubeadmImages = listed.stdout.trim().split('\n');
    expect(kubeadmImages).toHaveLength(7);
    const view = rehearsalView();
    const inputs = inputsFromSecrets(testSecrets(tmp, readFileSync(REHEARSAL_SPEC, 'utf8')));
    const imagesTxt = renderView(view, { ...inputs, upstream: { calicoManifest: readFileSync(join(bundle, 'manifests/calico-v3.27.0.yaml'), 'utf8') } })
      .find((f) => f.kind === 'cluster' && f.path === 'images.txt')!.content.split('\n').filter((l) => l && !l.startsWith('#'));
    const archives = new Set(readdirSync(join(bundle, 'images')));
    // the bundle holds exactly these images: kubeadm's 7 and the addons' (images.txt lists both)
    expect(new Set([...kubeadmImages, ...imagesTxt]).size).toBe(archives.size);
    const missing = [...kubeadmImages, ...imagesTxt].filter((ref) => !archives.has(imageArchivePath(ref).slice('images/'.length)));
    expect(missing).toEqual([]);
  });

  it('installs every package group with one `dpkg -i` on a bare host with no network; the binaries report v1.34.3', async () => {
    await tb.exec('cp1', ['mkdir', '-p', '/data']);
    await timed('bundle copied to the host', () => tb.copyTo('cp1', bundle, BUNDLE_ON_HOST));
    const before = await tb.exec('cp1', ['sh', '-c', 'command -v kubeadm containerd keepalived || true']);
    expect(before.stdout.trim()).toBe('');
    for (const g of GROUPS) {
      await timed(`dpkg -i ${g}`, () => tb.exec('cp1', ['sh', '-c', `cd ${BUNDLE_ON_HOST}/packages/debian12/${g} && DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold ./*.deb`], { timeoutMs: 600_000 }));
    }
    const audit = await tb.exec('cp1', ['dpkg', '--audit']);
    expect(audit.stdout.trim()).toBe('');
    const v = async (argv: string[]) => (await tb.exec('cp1', argv)).stdout.trim();
    expect(await v(['kubeadm', 'version', '-o', 'short'])).toBe('v1.34.3');
    expect(await v(['kubelet', '--version'])).toBe('Kubernetes v1.34.3');
    expect(await v(['kubectl', 'version', '--client', '-o', 'json'])).toContain('"gitVersion": "v1.34.3"');
    expect(await v(['crictl', '--version'])).toMatch(/1\.34\.0/);
    expect(await v(['containerd', '--version'])).toMatch(/ 1\.6\.20/);
    expect(await v(['sh', '-c', 'ls /opt/cni/bin'])).toMatch(/bridge[\s\S]*host-local[\s\S]*loopback[\s\S]*portmap/);
    expect(await v(['systemctl', 'is-enabled', 'kubelet'])).toBe('enabled');
    expect(await v(['systemctl', 'cat', 'kubelet'])).toContain('10-kubeadm.conf');
    expect(await v(['sh', '-c', 'keepalived --version 2>&1 | head -n1; haproxy -v | head -n1'])).toMatch(/Keepalived v2\.2[\s\S]*HAProxy version 2\.6/);
  }, 900_000);

  it('imports every image archive into the host\'s containerd under its exact reference; each program reports its version', async () => {
    await tb.exec('cp1', ['systemctl', 'restart', 'containerd']);
    await waitFor('containerd answering', async () => ((await tb.exec('cp1', ['ctr', 'version'], { allowFailure: true })).exitCode === 0 ? true : undefined), { timeoutMs: 30_000 });
    const files = readdirSync(join(bundle, 'images')).sort();
    await timed(`ctr images import of ${files.length} archives`, async () => {
      for (const f of files) await tb.exec('cp1', ['ctr', '-n', 'k8s.io', 'images', 'import', `${BUNDLE_ON_HOST}/images/${f}`], { timeoutMs: 300_000 });
    });
    const listed = new Set((await tb.exec('cp1', ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout.split('\n').filter(Boolean));
    const refs = bundleImages(bundle);
    expect(refs).toHaveLength(files.length);
    expect(refs.filter((r) => !listed.has(r))).toEqual([]);
    for (const { ref, argv, expect: re } of IMAGE_VERSIONS) {
      const name = `v-${Math.random().toString(36).slice(2, 8)}`;
      const r = await tb.exec('cp1', ['ctr', '-n', 'k8s.io', 'run', '--rm', ref, name, ...argv], { allowFailure: true, timeoutMs: 60_000 });
      expect.soft(r.exitCode, `${ref} ${argv.join(' ')}: ${r.stderr}`).toBe(0);
      expect.soft(`${r.stdout}${r.stderr}`, `${ref} ${argv.join(' ')}`).toMatch(re);
    }
  }, 900_000);

  it('smoke: kubelet + containerd from the bundle; `kubeadm init` with our rendered InitConfiguration reaches a healthy API server', async () => {
    const host = tb.host('cp1');
    const node = new KindExecutor({ host: 'cp1', container: host.containerId });
    // one control plane at the container's address; the rest as in the rehearsal spec
    const spec = readFileSync(REHEARSAL_SPEC, 'utf8')
      .replace(/^ {4}- \{name: cp2[^\n]*\n/m, '').replace(/^ {4}- \{name: cp3[^\n]*\n/m, '').replace(/^ {4}- \{name: w1[^\n]*\n/m, '')
      .replace('{name: cp1, address: 10.250.0.11, roles: [control-plane, load-balancer]', `{name: cp1, address: ${host.address}, roles: [control-plane]`)
      .replace(/^ {2}controlPlane:\n(?: {4}[^\n]*\n)+/m, '')
      .replace('hostSubnet: 10.250.0.0/24', `hostSubnet: ${tb.network.subnet}`);
    const view = viewOf(spec);
    const secrets = testSecrets(tmp, spec);
    // rendered with the container-node overlay (src/generators/overlay.ts): what the plan shows for container nodes
    const files = renderView(view, { ...inputsFromSecrets(secrets), overlay: 'container-node', upstream: { calicoManifest: readFileSync(join(bundle, 'manifests/calico-v3.27.0.yaml'), 'utf8') } })
      .filter((f): f is HostFile => f.kind === 'host' && f.host === 'cp1');
    // every file the plan writes on this host (the container-node overlay adds its unit and resolv.conf)
    for (const path of ['/etc/hostname', '/usr/local/lib/airgap-k8s/prepare-os.sh', '/etc/containerd/config.toml', '/etc/kubernetes/airgap-k8s/kubeadm-init.yaml', '/etc/systemd/system/airgap-k8s-rshared.service']) {
      expect(files.some((f) => f.path === path), path).toBe(true);
    }
    for (const f of files) {
      // the product's atomic write through the kind executor (/etc/hostname is a bind mount in a container)
      await writeFileAtomic(node, f.path, f.content, { mode: f.mode.toString(8).padStart(4, '0') });
    }
    // the first run of our prepare-os.sh on a host: modules built into the kernel, sysctls in the node's namespace
    const prep = await tb.exec('cp1', ['/usr/local/lib/airgap-k8s/prepare-os.sh']);
    log(`prepare-os.sh:\n${prep.stdout.trim()}`);
    expect(prep.stdout).toContain('modules: br_netfilter already in the kernel');
    expect(prep.stdout).toContain('prepare-os: done');
    const again = await tb.exec('cp1', ['/usr/local/lib/airgap-k8s/prepare-os.sh']);
    expect(again.stdout).not.toMatch(/turned off|wrote the airgap-k8s block|set to /);
    await tb.exec('cp1', ['systemctl', 'restart', 'containerd']);
    const init = await timed('kubeadm init', () => tb.exec('cp1', ['kubeadm', 'init', '--config', '/etc/kubernetes/airgap-k8s/kubeadm-init.yaml', '--upload-certs'], { timeoutMs: 600_000, allowFailure: true }));
    if (init.exitCode !== 0) {
      const k = await tb.exec('cp1', ['sh', '-c', 'journalctl -u kubelet --no-pager | tail -n 40; crictl ps -a'], { allowFailure: true });
      throw new Error(`kubeadm init failed (${init.exitCode}):\n${init.stdout.slice(-3000)}\n${init.stderr.slice(-3000)}\n--- kubelet:\n${k.stdout}`);
    }
    const ready = await waitFor('/readyz ok', async () => {
      const r = await tb.exec('cp1', ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', '--raw', '/readyz'], { allowFailure: true });
      return r.exitCode === 0 && r.stdout.trim() === 'ok' ? r.stdout.trim() : undefined;
    }, { timeoutMs: 120_000 });
    expect(ready).toBe('ok');
    // the static pods run the bundle's images (nothing was pulled: the network has no way out)
    const ps = (await tb.exec('cp1', ['crictl', 'ps', '-o', 'json'])).stdout;
    const images = new Set((JSON.parse(ps).containers as { image: { image: string } }[]).map((c) => c.image.image));
    log(`running containers' images: ${[...images].join(', ')}`);
    const imgs = (await tb.exec('cp1', ['crictl', 'images', '-o', 'json'])).stdout;
    const tags = (JSON.parse(imgs).images as { id: string; repoTags: string[] }[]);
    const tagOf = (id: string) => tags.find((t) => t.id === id || t.repoTags.includes(id))?.repoTags.join(',') ?? id;
    const running = [...images].map(tagOf).join(' ');
    for (const c of ['kube-apiserver:v1.34.3', 'kube-controller-manager:v1.34.3', 'kube-scheduler:v1.34.3', 'etcd:3.6.5-0']) expect(running).toContain(c);
    const nodeInfo = await tb.exec('cp1', ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}']);
    expect(nodeInfo.stdout.trim()).toBe('v1.34.3');
    // the spec names no encryptionAlgorithm: the new CA and every key kubeadm made are ECDSA P-256, the API server's
    // certificate signed by our CA (each file brought here and read with Node's X509Certificate)
    expect(secrets.ca.key).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    const ca = new X509Certificate(secrets.ca.cert);
    for (const path of ['/etc/kubernetes/pki/apiserver.crt', '/etc/kubernetes/pki/front-proxy-ca.crt', '/etc/kubernetes/pki/etcd/ca.crt']) {
      const cert = new X509Certificate((await tb.exec('cp1', ['cat', path])).stdout);
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve, path).toBe('prime256v1');
      if (path.endsWith('/apiserver.crt')) expect(cert.verify(ca.publicKey), `${path} signed by our CA`).toBe(true);
    }
  }, 900_000);
});

/** A secrets file for SPEC in DIR (fresh random values, like a real first install). */
function testSecrets(dir: string, spec: string) {
  const r = loadOrCreateSecrets(join(dir, `secrets-${Math.random().toString(36).slice(2, 8)}.yaml`), viewOf(spec).cluster);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.secrets;
}

/** Every image reference the bundle's archives hold, as bundle.yaml records them (read from each archive). */
function bundleImages(bundle: string): string[] {
  const m = parseManifest(readFileSync(join(bundle, 'bundle.yaml'), 'utf8'));
  if (!m.ok) throw new Error(`bundle.yaml: ${JSON.stringify(m)}`);
  return m.manifest.artifacts.flatMap((a) => (a.kind === 'image' ? a.images : []));
}
