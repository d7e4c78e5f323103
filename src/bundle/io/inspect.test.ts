import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryHeader, entryPadding, tar, TAR_END } from './tar.js';
import { archiveImages, classify, debFromFileName, inspectFile, parseDebHeader, parseRpmHeader } from './inspect.js';
import { TarScanner } from './tar-scan.js';
import { fakeElf, makeChart, makeDeb, makeDockerArchive, makeOciArchive, makeRpm } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'bundle-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: Buffer | string) => {
  const f = join(dir, name.replace(/\//g, '_'));
  writeFileSync(f, data);
  return f;
};

describe('package headers', () => {
  it('reads name, epoch:version-release and arch from an rpm header', () => {
    expect(parseRpmHeader(makeRpm({ name: 'kubeadm', version: '1.34.3', release: '150500.1.1' }))).toEqual({ name: 'kubeadm', version: '1.34.3-150500.1.1', arch: 'x86_64' });
    expect(parseRpmHeader(makeRpm({ name: 'containerd.io', version: '1.6.32', release: '3.1.el8', epoch: 1 }))).toEqual({ name: 'containerd.io', version: '1:1.6.32-3.1.el8', arch: 'x86_64' });
  });

  it('refuses what is not an rpm, or an rpm cut inside its header', () => {
    expect(parseRpmHeader(Buffer.from('not an rpm at all, just text that is long enough to have a lead.................................................'))).toMatch(/no lead magic/);
    const rpm = makeRpm({ name: 'socat', version: '1.7.4.1', release: '1.el8' });
    expect(typeof parseRpmHeader(rpm.subarray(0, 120))).toBe('string');
  });

  it('reads a .deb control file (control.tar.gz), and the apt-get download file name when it cannot', () => {
    expect(parseDebHeader(makeDeb({ name: 'keepalived', version: '1:2.2.7-1+b2' }), 'x.deb')).toEqual({ name: 'keepalived', version: '1:2.2.7-1+b2', arch: 'amd64' });
    expect(parseDebHeader(Buffer.from('garbage'), 'x.deb')).toMatch(/no ar magic/);
    expect(debFromFileName('packages/debian12/load-balancer/keepalived_1%3a2.2.7-1+b2_amd64.deb')).toEqual({ name: 'keepalived', version: '1:2.2.7-1+b2', arch: 'amd64' });
    expect(debFromFileName('random.deb')).toBeUndefined();
  });
});

describe('image archives', () => {
  it('docker save: RepoTags, normalised to fully qualified references', () => {
    const meta = { manifest: Buffer.from(JSON.stringify([{ RepoTags: ['calico/node:v3.27.0', 'busybox:1.37.0', 'registry.k8s.io/pause:3.10.1'] }])) };
    expect(archiveImages(meta)).toEqual({
      format: 'docker-archive',
      images: ['docker.io/calico/node:v3.27.0', 'docker.io/library/busybox:1.37.0', 'registry.k8s.io/pause:3.10.1'],
    });
  });

  it('OCI (ctr images export): io.containerd.image.name; a bare tag in ref.name says nothing', () => {
    const idx = (a: Record<string, string>) => ({ index: Buffer.from(JSON.stringify({ manifests: [{ annotations: a }] })) });
    expect(archiveImages(idx({ 'io.containerd.image.name': 'docker.io/calico/cni:v3.27.0', 'org.opencontainers.image.ref.name': 'v3.27.0' }))).toEqual({
      format: 'oci-archive',
      images: ['docker.io/calico/cni:v3.27.0'],
    });
    expect(archiveImages(idx({ 'org.opencontainers.image.ref.name': 'quay.io/tigera/operator:v1.32.3' }))).toEqual({ format: 'oci-archive', images: ['quay.io/tigera/operator:v1.32.3'] });
    expect(archiveImages(idx({ 'org.opencontainers.image.ref.name': 'v1.32.3' }))).toMatch(/names no image reference/);
    expect(archiveImages({})).toMatch(/no manifest.json or index.json/);
  });

  it('finds the references while hashing a whole archive, whatever the entry order', async () => {
    const d = await inspectFile(file('d.tar', makeDockerArchive(['registry.k8s.io/etcd:3.6.5-0'])), 'images/registry.k8s.io_etcd_3.6.5-0.tar');
    expect(d.problems).toEqual([]);
    expect(d.artifact).toMatchObject({ kind: 'image', name: 'registry.k8s.io/etcd:3.6.5-0', images: ['registry.k8s.io/etcd:3.6.5-0'], format: 'docker-archive' });
    const o = await inspectFile(file('o.tar', makeOciArchive('docker.io/calico/cni:v3.27.0')), 'images/docker.io_calico_cni_v3.27.0.tar');
    expect(o.artifact).toMatchObject({ kind: 'image', images: ['docker.io/calico/cni:v3.27.0'], format: 'oci-archive' });
  });

  it('a truncated archive or one without a name is a problem, not an image', async () => {
    const whole = makeDockerArchive(['registry.k8s.io/pause:3.10.1']);
    const cut = await inspectFile(file('cut.tar', whole.subarray(0, whole.length - 3000)), 'images/registry.k8s.io_pause_3.10.1.tar');
    expect(cut.artifact.kind).toBe('file');
    expect(cut.problems.join()).toMatch(/cut short|names no image/);
    const anon = await inspectFile(file('anon.tar', makeOciArchive('x', { refName: 'v1' })), 'images/x.tar');
    expect(anon.problems.join()).toMatch(/names no image reference/);
  });
});

describe('classification and metadata from the file itself', () => {
  it('by place in the layout', () => {
    expect(classify('packages/rhel8/kubernetes/kubeadm-1.34.3-1.x86_64.rpm')).toEqual({ kind: 'os-package', os: 'rhel8', group: 'kubernetes', format: 'rpm' });
    expect(classify('packages/debian12/containerd/SHA256SUMS')).toEqual({ kind: 'file' });
    expect(classify('packages/ubuntu/containerd/x.deb')).toEqual({ kind: 'file' });
    expect(classify('images/a.tar')).toEqual({ kind: 'image' });
    expect(classify('charts/x-1.0.0.tgz')).toEqual({ kind: 'chart' });
    expect(classify('manifests/calico-v3.27.0.yaml')).toEqual({ kind: 'manifest' });
    expect(classify('models/gguf/q.gguf')).toEqual({ kind: 'model' });
    expect(classify('bin/helm-v3.19.0')).toEqual({ kind: 'binary' });
    expect(classify('README.md')).toEqual({ kind: 'file' });
  });

  it('chart name and version from Chart.yaml inside the .tgz', async () => {
    const c = await inspectFile(file('c.tgz', makeChart('kube-prometheus-stack', '88.5.3')), 'charts/kube-prometheus-stack-88.5.3.tgz');
    expect(c.artifact).toMatchObject({ kind: 'chart', name: 'kube-prometheus-stack', version: '88.5.3' });
    const bad = await inspectFile(file('bad.tgz', 'not gzip'), 'charts/bad-1.0.0.tgz');
    expect(bad.problems.join()).toMatch(/chart unreadable/);
  });

  it('binaries: name-version from the file name, ELF x86-64 checked', async () => {
    const ok = await inspectFile(file('helm', fakeElf()), 'bin/helm-v3.19.0');
    expect(ok).toMatchObject({ artifact: { kind: 'binary', name: 'helm', version: 'v3.19.0' }, elf: true });
    const sh = await inspectFile(file('helm.sh', '#!/bin/sh\necho helm\n'), 'bin/helm-v3.19.0');
    expect(sh.elf).toBe(false);
  });

  it('hash, size and package fields of an rpm and a .deb', async () => {
    const rpm = makeRpm({ name: 'kubelet', version: '1.34.3', release: '150500.1.1' });
    const r = await inspectFile(file('k.rpm', rpm), 'packages/rhel8/kubernetes/kubelet-1.34.3-150500.1.1.x86_64.rpm');
    expect(r.artifact).toMatchObject({ kind: 'os-package', name: 'kubelet', version: '1.34.3-150500.1.1', os: 'rhel8', group: 'kubernetes', format: 'rpm', size: rpm.length });
    expect(r.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
    const deb = await inspectFile(file('s.deb', makeDeb({ name: 'socat', version: '1.7.4.4-2' })), 'packages/debian12/kubernetes/socat_1.7.4.4-2_amd64.deb');
    expect(deb.artifact).toMatchObject({ kind: 'os-package', name: 'socat', version: '1.7.4.4-2', arch: 'amd64', format: 'deb' });
  });
});

describe('tar: the one writer (./tar.ts) and the streaming reader', () => {
  it('reads pax long paths and sizes beyond 8 GiB from headers the writer makes', () => {
    const long = `models/${'deep/'.repeat(40)}weights.safetensors`;
    const seen: { path: string; size: number }[] = [];
    const headers: { path: string; size: number }[] = [];
    const scan = new TarScanner((e) => (headers.push({ path: e.path, size: e.size }), 0), (e) => seen.push({ path: e.path, size: e.size }));
    scan.push(entryHeader(long, 5, 0o644, 0));
    scan.push(Buffer.from('hello'));
    scan.push(entryPadding(5));
    const big = 9 * 1024 ** 3 + 7;
    scan.push(entryHeader('models/big.gguf', big, 0o644, 0));
    expect(seen).toEqual([{ path: long, size: 5 }]);
    // the big entry's header was understood (pax size record, base-256 field): the scanner waits for its data
    expect(headers).toEqual([{ path: long, size: 5 }, { path: 'models/big.gguf', size: big }]);
    expect(scan.error).toBeUndefined();
    const rest = new TarScanner(() => 0, (e) => seen.push({ path: e.path, size: e.size }));
    rest.push(Buffer.concat([entryHeader('a', 0, 0o644, 0), TAR_END]));
    expect(rest.ended).toBe(true);
  });

  it('captures small entries across arbitrary chunk boundaries', () => {
    const archive = tar(
      [
        { path: 'blob', content: Buffer.alloc(100_000, 1), mode: 0o644 },
        { path: 'manifest.json', content: '[{"RepoTags":["a/b:c"]}]', mode: 0o644 },
      ],
      0,
    );
    for (const step of [1, 7, 511, 512, 513, 4096]) {
      let got = '';
      const scan = new TarScanner((e) => (e.path === 'manifest.json' ? 1000 : 0), (e, d) => {
        if (d) got = d.toString();
      });
      for (let i = 0; i < archive.length; i += step) scan.push(archive.subarray(i, i + step));
      expect(got, `chunks of ${step}`).toBe('[{"RepoTags":["a/b:c"]}]');
      expect(scan.ended).toBe(true);
    }
  });
});
